"""A collector whose own import fails for want of a dependency."""

import a_dependency_that_is_not_installed  # noqa: F401


def main(*args):
    pass
