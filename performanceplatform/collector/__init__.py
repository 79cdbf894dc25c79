"""pp-collector: pulls numbers from third-party services and pushes them to Backdrop."""

__version__ = "1.0.0.dev0"
