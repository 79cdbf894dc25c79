"""Collectors contributed for particular dashboards, built on the GA collector."""
