"""Cron runs never pay for Celery, and the Celery app without its extra says which extra to install."""

from __future__ import annotations

import subprocess
import sys

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.celery.jobs import pingdom_job
from tests.support.cli import REPO_ROOT, ConfigFiles
from tests.test_startup_imports import loaded, modules_after, run_main

CELERY = ("celery", "kombu", "billiard", "redis", "performanceplatform.collector.celery")


def test_a_cron_run_imports_nothing_of_celery_or_redis(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    modules, printed = modules_after(run_main(pingdom_job(configs, pingdom, backdrop)))

    assert printed == "EXIT 0"
    assert loaded(modules, CELERY) == []


def test_the_celery_app_without_the_extra_names_the_extra_to_install() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['celery'] = None\nimport performanceplatform.collector.celery"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=False,
    )

    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1] == (
        "ModuleNotFoundError: pp-collector on Celery needs the celery extra, and 'celery' is not installed: "
        "pip install 'pp-collector[celery]'"
    )
