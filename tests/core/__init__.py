"""The core (asyncexch/*.py): session, retry, limits, clock, conversion, transports, CLI."""
