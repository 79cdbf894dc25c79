"""Running `pp-collector` as a user does, and writing the config files it reads.

`run_cli` calls `main(argv)` in-process (so freezegun and monkeypatched environment variables
apply) and captures stdout and stderr; `run_cli_subprocess` runs the installed console entry
point in a fresh interpreter. `ConfigFiles` (fixture `configs`) writes query, credentials, token
and Backdrop files into a temporary directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKDROP_TOKEN = "backdrop-token-5ecret"
# The rows of the production department table (../shared/reference/department-codes.json) that
# the tests use, so that they run in a fresh clone; tests over the whole table are in
# tests/support/shared.py's care.
DEPARTMENT_CODES = {
    "<D1>": "attorney-generals-office",
    "<D2>": "cabinet-office",
    "<D3>": "department-for-business-innovation-skills",
    "<D9>": "department-for-transport",
    "<D10>": "department-for-work-pensions",
    "<EA570>": "driver-and-vehicle-standards-agency",
    "<OT532>": "prime-ministers-office-10-downing-street",
}


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    log_dir: Path | None = None

    def text_log(self) -> str:
        assert self.log_dir is not None
        path = self.log_dir / "collector.log"
        return path.read_text() if path.exists() else ""

    def json_log(self) -> list[dict[str, Any]]:
        assert self.log_dir is not None
        path = self.log_dir / "collector.json.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def all_output(self) -> str:
        """stdout, stderr and both log files: everything a run left behind."""
        parts = [self.stdout, self.stderr]
        if self.log_dir is not None:
            for name in ("collector.log", "collector.json.log"):
                path = self.log_dir / name
                if path.exists():
                    parts.append(path.read_text())
        return "\n".join(parts)


def run_cli(argv: Sequence[str]) -> CliResult:
    """`pp-collector ARGV` in this process. Usage errors (argparse) come back as exit code 2."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            exit_code = main(list(argv))
        except SystemExit as exit_:
            exit_code = exit_.code if isinstance(exit_.code, int) else 1
    return CliResult(exit_code, stdout.getvalue(), stderr.getvalue(), _log_dir_of(argv))


def run_cli_subprocess(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> CliResult:
    """`pp-collector ARGV` in a fresh interpreter, as cron runs it."""
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "performanceplatform.collector", *argv],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr, _log_dir_of(argv, cwd))


def _log_dir_of(argv: Sequence[str], cwd: Path | None = None) -> Path | None:
    arguments = list(argv)
    if "--log-dir" in arguments:
        return Path(arguments[arguments.index("--log-dir") + 1])
    return (cwd or Path.cwd()) / "log"


class ConfigFiles:
    """Writes the four files of a run into `root` and builds the matching command line."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir = root / "log"

    def write(self, name: str, content: Any) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path

    def query(
        self,
        entrypoint: str,
        query: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        data_group: str = "group",
        data_type: str = "type",
        name: str = "query.json",
        **extra: Any,
    ) -> Path:
        document = {
            "entrypoint": entrypoint,
            "data-set": {"data-group": data_group, "data-type": data_type},
            "query": dict(query or {}),
            "options": dict(options or {}),
            **extra,
        }
        return self.write(name, document)

    def token(self, token: str = BACKDROP_TOKEN, name: str = "token.json") -> Path:
        return self.write(name, {"token": token})

    def backdrop(self, url: str, name: str = "backdrop.json", **extra: Any) -> Path:
        return self.write(name, {"backdrop_url": url, **extra})

    def credentials(self, content: Mapping[str, Any] | None = None, name: str = "credentials.json") -> Path:
        return self.write(name, dict(content or {}))

    def department_codes(
        self, table: Mapping[str, str] = DEPARTMENT_CODES, name: str = "department-codes.json"
    ) -> Path:
        """A department code table for `--department-codes` (default: the codes the tests use)."""
        return self.write(name, dict(table))

    def args(
        self,
        *,
        query: Path,
        backdrop: Path,
        credentials: Path | None = None,
        token: Path | None = None,
        console: bool = False,
    ) -> list[str]:
        """The usual command line; logs go to files under `root/log` unless `console`."""
        argv = [
            "-q", str(query),
            "-c", str(credentials or self.credentials()),
            "-t", str(token or self.token()),
            "-b", str(backdrop),
        ]
        argv += ["--console-logging"] if console else ["--log-dir", str(self.log_dir)]
        return argv


@pytest.fixture
def configs(tmp_path: Path) -> ConfigFiles:
    return ConfigFiles(tmp_path / "config")


@pytest.fixture(autouse=True)
def _fast_and_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test: tiny backoffs, no inherited switches, and a cwd of its own (./log lands there)."""
    monkeypatch.setenv("PP_COLLECTOR_RETRY_BASE_DELAY", "0.001")
    monkeypatch.setenv("PP_COLLECTOR_RETRY_MAX_DELAY", "2")
    for variable in ("DISABLE_COLLECTORS", "LOGLEVEL", "PP_COLLECTOR_DEPARTMENT_CODES", "PP_COLLECTOR_CONCURRENCY",
                     "PP_COLLECTOR_GA4_MAP", "PP_COLLECTOR_PUSH_CONCURRENCY", "PP_COLLECTOR_ALLOW_INSECURE_HTTP",
                     "GOVUK_STATSD_PREFIX"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
