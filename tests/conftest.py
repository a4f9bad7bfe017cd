"""Shared test setup: this folder is on ``sys.path``, so tests import ``browser_helper`` from here."""
