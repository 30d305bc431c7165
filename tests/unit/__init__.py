"""Respx and virtual-time tests (to be split by package module)."""
