"""Stand-in servers for the services pp-collector talks to, for tests, the demo and offline work."""
