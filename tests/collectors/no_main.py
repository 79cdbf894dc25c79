"""An importable module that is not a collector: it has no main."""

VALUE = 1
