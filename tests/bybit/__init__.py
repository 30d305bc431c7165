"""Bybit (asyncexch/bybit): the client, its wire format, errors, hosts, models and signing."""
