"""`../shared`, beside the checkout: the production configs and department table, and the one way to skip without them.

CI and the developers' machines have `../shared`; a fresh clone does not. Tests over its files
call `require_shared(path)`: at the top of a module that is about nothing else (the whole module
is skipped), or in the test. Without the file each is skipped with the same reason, raised from
this one place, so `pytest -ra` folds every such skip into one line per missing path: what was
not run, and why.

Tests that only need *a* department table use `ConfigFiles.department_codes()` (tests/support/cli.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT

SHARED = REPO_ROOT.parent / "shared"
REAL_CONFIGS = SHARED / "real-configs"
PRODUCTION_DEPARTMENT_CODES = SHARED / "reference" / "department-codes.json"


def require_shared(path: Path) -> Path:
    """`path` (under ../shared) when it is there; otherwise the calling test or module is skipped."""
    if not path.exists():
        # A fresh clone lacks all of ../shared: one reason for every skip, so one line in the summary.
        missing = SHARED if not SHARED.exists() else path
        pytest.skip(
            f"tests over the production configs and department table not run: ../{missing.relative_to(SHARED.parent)} "
            "is not beside this checkout (CI has ../shared; a fresh clone does not)",
            allow_module_level=True,
        )
    return path
