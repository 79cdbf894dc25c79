"""Rewrites a crontab with one `pp-collector` line per job of a jobs file (reference §1.7).

    crontab -l | python -m performanceplatform.collector.crontab APP_PATH JOBS_FILE APP_ID | crontab -

The current crontab is read from stdin and written back to stdout with this app's
`# Begin ...`/`# End ...` block replaced. Jobs are shared out between hosts by the number at the end
of the host name. Whatever goes wrong, including a usage error, the crontab is written back exactly
as it was read and the exit code is non-zero: the output is always piped into `crontab -`, and the
original installed an empty crontab on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

DEFAULT_HOSTS = 2
SKIPPED_LINE = re.compile(r"^#.*|\s*$")
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class JobsFileError(Exception):
    """A jobs file that cannot be turned into crontab lines."""


@dataclass(frozen=True)
class Job:
    schedule: str
    source: str  # a query file path (-q) or a collector slug (-l)
    credentials: str
    token: str
    backdrop: str

    @property
    def source_flag(self) -> str:
        if self.source.endswith(".json") or "/" in self.source or not SLUG.match(self.source):
            return "-q"
        return "-l"

    def arguments(self, app_path: str) -> list[str]:
        """The job's `pp-collector` arguments: its files under `app_path/config/` (a slug as it is).
        Cron lines and the Celery beat schedule both run these."""
        config = f"{app_path}/config"
        source = self.source if self.source_flag == "-l" else f"{config}/{self.source}"
        arguments = [self.source_flag, source]
        for flag, name in (("-c", self.credentials), ("-t", self.token), ("-b", self.backdrop)):
            arguments += [flag, f"{config}/{name}"]
        return arguments

    def crontab_line(self, app_path: str, disabled: bool) -> str:
        """The job's line. Cron runs it in $HOME; the `cd` makes the app's directory the working
        directory, so that `log/` and `lock/` are the app's and relative paths inside credentials
        files resolve as they do when the job is run by hand from there."""
        app = shlex.quote(app_path)
        prefix = "DISABLE_COLLECTORS=true " if disabled else ""
        arguments = " ".join(shlex.quote(argument) for argument in self.arguments(app_path))
        return (
            f"{self.schedule} cd {app} && {prefix}{shlex.quote(f'{app_path}/venv/bin/pp-collector')} "
            f"{arguments} "
            f">> {shlex.quote(f'{app_path}/log/out.log')} 2>> {shlex.quote(f'{app_path}/log/error.log')}"
        )


def begin_marker(app_id: str) -> str:
    return f"# Begin performanceplatform.collector jobs for {app_id}"


def end_marker(app_id: str) -> str:
    return f"# End performanceplatform.collector jobs for {app_id}"


def host_number(hostname: str) -> int | None:
    """The number after the host name's last `-` (`collector-2` → 2), if there is one."""
    try:
        return int(hostname.rsplit("-", 1)[-1])
    except ValueError:
        return None


def jobs_for_host(lines: Sequence[str], hostname: str, hosts: int, jobs_path: str) -> list[Job]:
    """The jobs this host runs: job k (1-based, comments and blanks not counted) when
    (k + n - 1) is a multiple of `hosts`, for host number n; every job on an unnumbered host.

    Lines for other hosts are not parsed, so a mistake in one of them does not stop this host.
    """
    number = host_number(hostname)
    jobs = []
    index = 0
    for line_number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if SKIPPED_LINE.match(line):
            continue
        index += 1
        if number is not None and (index + number - 1) % hosts != 0:
            continue
        fields = line.split(",")
        if len(fields) != 5:
            raise JobsFileError(
                f"{jobs_path}: line {line_number}: expected 5 comma-separated fields "
                f"(schedule,query-or-slug,credentials,token,backdrop), found {len(fields)}"
            )
        # The original kept spaces after commas, which made paths like `config/ tokens/x.json`.
        fields = [field.strip() for field in fields]
        if not all(fields):
            raise JobsFileError(f"{jobs_path}: line {line_number}: a field is empty")
        jobs.append(Job(*fields))
    return jobs


def all_jobs(lines: Sequence[str], jobs_path: str) -> list[Job]:
    """Every job of a jobs file, for a scheduler that serves all hosts (Celery beat)."""
    return jobs_for_host(lines, hostname="", hosts=1, jobs_path=jobs_path)


def read_jobs_file(path: str | Path) -> list[str]:
    """The lines of a jobs file; JobsFileError naming it when it cannot be read."""
    try:
        # utf-8-sig: a byte-order mark (Windows editors) would otherwise open the first schedule.
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise JobsFileError(f"{path}: cannot read the jobs file ({error.strerror})") from None


def without_own_block(lines: Sequence[str], app_id: str) -> list[str]:
    """The crontab's lines, stripped, without this app's old block.

    An End before any Begin is kept; a Begin with no End drops everything after it (as before).
    """
    kept = []
    inside = False
    for raw in lines:
        line = raw.strip()
        if line == begin_marker(app_id):
            inside = True
        elif inside and line == end_marker(app_id):
            inside = False
        elif not inside:
            kept.append(line)
    return kept


def generate(
    crontab_lines: Sequence[str],
    jobs_lines: Sequence[str],
    *,
    app_path: str,
    app_id: str,
    hostname: str,
    hosts: int = DEFAULT_HOSTS,
    disabled: bool = False,
    jobs_path: str = "jobs file",
) -> str:
    output = without_own_block(crontab_lines, app_id)
    jobs = jobs_for_host(jobs_lines, hostname, hosts, jobs_path)
    if jobs:
        output.append(begin_marker(app_id))
        output.extend(job.crontab_line(app_path, disabled) for job in jobs)
        output.append(end_marker(app_id))
    return "\n".join(output) + "\n"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise JobsFileError(f"usage error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="python -m performanceplatform.collector.crontab",
        description="Replace this app's block in the crontab read from stdin with one pp-collector line per job.",
    )
    parser.add_argument("path_to_app", help="the app's directory (holds venv/, config/ and log/)")
    parser.add_argument("path_to_jobs", help="jobs file: schedule,query-or-slug,credentials,token,backdrop")
    parser.add_argument("app_unique_id", help="names the crontab block this app owns")
    parser.add_argument("--hosts", type=int, default=DEFAULT_HOSTS, help="number of hosts sharing the jobs")
    parser.add_argument("--hostname", default=None, help="this host's name (default: the machine's)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    original = stdin.read()
    try:
        # stdout is piped into `crontab -`: --help must not end up installed as cron lines.
        with contextlib.redirect_stdout(stderr):
            args = build_parser().parse_args(argv)
        if args.hosts < 1:
            raise JobsFileError("usage error: --hosts must be at least 1")
        jobs_lines = read_jobs_file(args.path_to_jobs)
        result = generate(
            original.splitlines(),
            jobs_lines,
            app_path=args.path_to_app.rstrip("/"),
            app_id=args.app_unique_id,
            hostname=args.hostname or socket.gethostname(),
            hosts=args.hosts,
            disabled=os.environ.get("DISABLE_COLLECTORS", "").strip().lower() == "true",
            jobs_path=args.path_to_jobs,
        )
    except (JobsFileError, UnicodeDecodeError) as error:
        print(f"crontab: {error}; the crontab is left unchanged", file=stderr)
        stdout.write(original)
        return 1
    except SystemExit:  # --help, printed on stderr
        stdout.write(original)
        return 0
    stdout.write(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
