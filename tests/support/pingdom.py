"""Fixtures: see the module name."""
