"""Celery beat's schedule, built from the jobs file the crontab generator reads.

The same file, parsed by the same code (`crontab.all_jobs`), makes the same runs: each job is a
`crontab` entry with the job's five cron fields, one for one, whose task runs the `pp-collector`
arguments its cron line would (`Job.arguments`). No config file changes between cron and Celery.
What Celery beat cannot express the way cron does is refused with one line naming the job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery.schedules import crontab, crontab_parser

from performanceplatform.collector.celery.routing import RUN_TASK
from performanceplatform.collector.crontab import Job, JobsFileError, all_jobs, read_jobs_file

FIELDS = "minute hour day-of-month month day-of-week"
# Cron's shorthands (`@reboot` has no meaning for a schedule that outlives hosts).
SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ScheduledJob:
    """One entry of the schedule: when (a Celery `crontab`), and the command line it runs."""

    name: str
    job: Job
    schedule: crontab
    argv: tuple[str, ...]

    def beat_entry(self) -> dict[str, Any]:
        return {"task": RUN_TASK, "schedule": self.schedule, "args": (list(self.argv),)}


def cron_schedule(fields: str, *, where: str) -> crontab:
    """A Celery `crontab` firing exactly when cron would for the five fields `fields`."""
    text = SHORTHANDS.get(fields.strip().lower(), fields.strip())
    parts = _WHITESPACE.split(text)
    if len(parts) != 5:
        raise JobsFileError(
            f"{where}: schedule {fields!r} has {len(parts)} fields; expected five ({FIELDS}) or one of "
            f"{', '.join(SHORTHANDS)}"
        )
    minute, hour, day_of_month, month, day_of_week = parts
    if not day_of_month.startswith("*") and not day_of_week.startswith("*"):
        # Cron runs such a job on either day; Celery beat only on days that are both.
        raise JobsFileError(
            f"{where}: schedule {fields!r} restricts both the day of the month and the day of the week, "
            "which cron reads as either and Celery beat as both; expected one of them to be *: split "
            "the job into two lines"
        )
    try:
        # Cron counts Sunday as 0 or 7; Celery only as 0.
        weekdays = {0 if day == 7 else day for day in crontab_parser(8).parse(day_of_week)}
        schedule = crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                           day_of_week=weekdays)
        # Celery parses some fields only when first asked: ask now, so a mistake stops beat at start.
        for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"):
            getattr(schedule, name)
    except (ValueError, crontab_parser.ParseException) as error:
        raise JobsFileError(
            f"{where}: schedule {fields!r}: {str(error).rstrip('.')}; expected five cron fields ({FIELDS})"
        ) from None
    return schedule


def scheduled_jobs(lines: Sequence[str], *, app_path: str, jobs_path: str) -> list[ScheduledJob]:
    """Every job of a jobs file's `lines`, scheduled. Names are the job's line, so that a beat taking
    over finds the times the last one recorded; a job listed twice runs twice, as cron would."""
    scheduled = []
    seen: dict[str, int] = {}
    for job in all_jobs(lines, jobs_path):
        line = ",".join((job.schedule, job.source, job.credentials, job.token, job.backdrop))
        seen[line] = seen.get(line, 0) + 1
        name = line if seen[line] == 1 else f"{line} ({seen[line]})"
        schedule = cron_schedule(job.schedule, where=f"{jobs_path}: job {job.source}")
        scheduled.append(ScheduledJob(name, job, schedule, tuple(job.arguments(app_path))))
    return scheduled


def read_schedule(jobs_file: Path, app_path: Path) -> list[ScheduledJob]:
    return scheduled_jobs(read_jobs_file(jobs_file), app_path=str(app_path).rstrip("/") or "/",
                          jobs_path=str(jobs_file))
