"""Helpers shared by the test folders (imported as ``tests.support.…``; fixtures live in
``tests/conftest.py``)."""
