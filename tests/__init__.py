"""The test suite. Every directory under tests/ is a package, so each test module has its own
dotted name (``tests.core.test_errors`` beside ``tests.bybit.test_errors``) under pytest's
default import mode, and shared code imports as ``tests.builders`` (never ``from conftest``)."""
