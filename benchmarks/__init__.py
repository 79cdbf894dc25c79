"""Benchmarks of pp-collector against its stand-ins (`make bench`); not part of the test suite."""
