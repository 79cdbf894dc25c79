"""Beat's schedule is the jobs file's, job for job: the five cron fields and the command line of each."""

from __future__ import annotations

import shlex

import pytest

from performanceplatform.collector import crontab
from performanceplatform.collector.celery.schedule import cron_schedule, scheduled_jobs
from performanceplatform.collector.crontab import JobsFileError
from tests.support.shared import REAL_CONFIGS, require_shared

APP = "/var/apps/pp-collector"
# (field, lowest, highest) of the five cron fields, in their order.
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day_of_month", 1, 31), ("month_of_year", 1, 12),
               ("day_of_week", 0, 7))


def cron_values(field: str, lowest: int, highest: int) -> set[int]:
    """What cron reads a numeric field as (`*`, `N`, `A-B`, `/STEP`, `,`), independently of Celery."""
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = lowest, highest
        elif "-" in span:
            first, last = (int(bound) for bound in span.split("-"))
        else:
            first = int(span)
            last = highest if step else first
        values |= set(range(first, last + 1, int(step or 1)))
    return values


def cron_fields(schedule: str) -> dict[str, set[int]]:
    fields = {name: cron_values(text, lowest, highest)
              for (name, lowest, highest), text in zip(CRON_FIELDS, schedule.split(), strict=True)}
    fields["day_of_week"] = {0 if day == 7 else day for day in fields["day_of_week"]}  # Sunday is 0 or 7
    return fields


def celery_fields(schedule: object) -> dict[str, set[int]]:
    return {name: set(getattr(schedule, name)) for name, _, _ in CRON_FIELDS}


def commands(crontab_text: str) -> list[tuple[str, list[str]]]:
    """(the five fields, the pp-collector arguments) of each line the crontab generator wrote."""
    lines = []
    for line in crontab_text.splitlines():
        if line.startswith("#"):
            continue
        *fields, command = line.split(None, 5)
        words = shlex.split(command)
        start = words.index(f"{APP}/venv/bin/pp-collector") + 1
        lines.append((" ".join(fields), words[start:words.index(">>")]))
    return lines


def test_the_schedule_built_from_the_production_jobs_file_is_the_crontab_generators_job_for_job() -> None:
    jobs_file = require_shared(REAL_CONFIGS / "cronjobs")
    lines = jobs_file.read_text().splitlines()

    by_cron = commands(crontab.generate([], lines, app_path=APP, app_id="pp-collector", hostname="collector",
                                        hosts=1, jobs_path=str(jobs_file)))
    by_beat = scheduled_jobs(lines, app_path=APP, jobs_path=str(jobs_file))

    assert len(by_beat) == len(by_cron) == 243
    for (schedule, argv), scheduled in zip(by_cron, by_beat, strict=True):
        assert list(scheduled.argv) == argv
        assert celery_fields(scheduled.schedule) == cron_fields(schedule), schedule
    assert sum(job.job.schedule == "1-59/2 * * * *" for job in by_beat) == 35
    assert len({job.name for job in by_beat}) == 243


def test_every_job_of_a_jobs_file_is_scheduled_whatever_hosts_cron_would_have_shared_them_over() -> None:
    lines = ["# Daily jobs", "", "0 0 * * *,queries/a.json,credentials/ga.json,tokens/ga.json,pp.json",
             "@hourly,carers-allowance-monitoring,credentials/pingdom.json,tokens/pingdom.json,pp.json",
             "30 6 * * 7,queries/b.json,credentials/ga.json,tokens/ga.json,pp.json",
             "30 6 * * 7,queries/b.json,credentials/ga.json,tokens/ga.json,pp.json"]

    jobs = scheduled_jobs(lines, app_path=APP, jobs_path="cronjobs")

    assert [job.argv[:2] for job in jobs] == [
        ("-q", f"{APP}/config/queries/a.json"), ("-l", "carers-allowance-monitoring"),
        ("-q", f"{APP}/config/queries/b.json"), ("-q", f"{APP}/config/queries/b.json"),
    ]
    assert celery_fields(jobs[1].schedule) == cron_fields("0 * * * *")
    assert celery_fields(jobs[2].schedule)["day_of_week"] == {0}
    assert len({job.name for job in jobs}) == 4  # a job listed twice runs twice, as in cron


@pytest.mark.parametrize(("schedule", "expected"), [
    ("0 0 1 * 1", "restricts both the day of the month and the day of the week"),
    ("0 0 * *", "has 4 fields; expected five (minute hour day-of-month month day-of-week)"),
    ("61 * * * *", "Invalid end range: 61 > 59; expected five cron fields"),
    ("@reboot", "has 1 fields; expected five"),
])
def test_a_schedule_beat_cannot_keep_as_cron_would_is_refused_naming_the_job(schedule: str, expected: str) -> None:
    with pytest.raises(JobsFileError) as refused:
        scheduled_jobs([f"{schedule},queries/a.json,c.json,t.json,b.json"], app_path=APP, jobs_path="cronjobs")
    assert str(refused.value).startswith(f"cronjobs: job queries/a.json: schedule {schedule!r}")
    assert expected in str(refused.value)


def test_a_job_every_two_minutes_fires_on_odd_minutes_as_cron_does() -> None:
    assert celery_fields(cron_schedule("1-59/2 * * * *", where="x"))["minute"] == set(range(1, 60, 2))
