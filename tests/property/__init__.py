"""Hypothesis property tests."""
