"""The Redis limiter and id registry against a real redis-server."""
