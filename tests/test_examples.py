"""The files in examples/: every one is used, passes `--check`, and collects against the stand-ins.

`examples/cronjobs` is the list of example runs (a jobs file, read with the crontab generator's own
parser): each line names a query file (or a Stagecraft slug), credentials, token and Backdrop file.
Each run is a real `pp-collector` process against `LocalStandIns` over HTTP on 127.0.0.1, from a
copy of examples/ whose URLs name the stand-ins (the demo makes the same copy). The collector
package of examples/collector-package is installed with pip (into a directory on PYTHONPATH).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from performanceplatform.collector.crontab import Job, jobs_for_host
from performanceplatform.collector.demo import copy_examples
from performanceplatform.collector.standins.local import (
    EXAMPLE_BACKDROP_TOKENS,
    EXAMPLE_CLIENT_ID,
    EXAMPLE_CLIENT_SECRET,
    EXAMPLE_MATOMO_TOKEN_AUTH,
    EXAMPLE_OMNISCIENT_TOKEN,
    EXAMPLE_PINGDOM_API_TOKEN,
    EXAMPLE_PINGDOM_APP_KEY,
    EXAMPLE_PINGDOM_PASSWORD,
    EXAMPLE_PINGDOM_USER,
    EXAMPLE_REFRESH_TOKEN,
    EXAMPLE_SERVICE_ACCOUNTS,
    EXAMPLE_STAGECRAFT_COLLECTOR,
    EXAMPLES_BASE_URL,
    LocalStandIns,
)
from tests.support.cli import REPO_ROOT, CliResult, run_cli, run_cli_subprocess

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

EXAMPLES = REPO_ROOT / "examples"
JOBS_FILE = EXAMPLES / "cronjobs"
PACKAGE = EXAMPLES / "collector-package"
# URLs in examples/ that are identifiers, not places anything is sent: OAuth scopes, and the
# revoke/redirect URIs Google's own files carry.
NOT_ENDPOINTS = {
    "https://www.googleapis.com/auth/analytics.readonly",
    "https://oauth2.googleapis.com/revoke",
    "http://localhost",
}


def example_jobs() -> list[Job]:
    # A host name without a number takes every job: the whole file.
    return jobs_for_host(JOBS_FILE.read_text().splitlines(), "examples", 1, str(JOBS_FILE))


def job_id(job: Job) -> str:
    return Path(job.source).stem


def job_argv(job: Job, examples: str = "examples") -> list[str]:
    source = f"{examples}/{job.source}" if job.source_flag == "-q" else job.source
    return [
        job.source_flag, source,
        "-c", f"{examples}/{job.credentials}",
        "-t", f"{examples}/{job.token}",
        "-b", f"{examples}/{job.backdrop}",
    ]


def data_set_of(job: Job, examples: Path) -> str:
    if job.source_flag == "-l":
        return f"{EXAMPLE_STAGECRAFT_COLLECTOR['data_group']}/{EXAMPLE_STAGECRAFT_COLLECTOR['data_type']}"
    data_set = json.loads((examples / job.source).read_text())["data-set"]
    return f"{data_set['data-group']}/{data_set['data-type']}"


def collector_environment(work: Path) -> dict[str, str]:
    """What a deployment would set: the package installed (pip --target, on the path), the codes table."""
    return {
        "PYTHONPATH": os.pathsep.join([str(work / "site-packages"), os.environ.get("PYTHONPATH", "")]),
        "PP_COLLECTOR_DEPARTMENT_CODES": "examples/department-codes.json",
        "PP_COLLECTOR_RETRY_BASE_DELAY": "0.001",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def use_collector_package(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """The installed collector package importable in this process."""
    monkeypatch.syspath_prepend(str(work / "site-packages"))


def get_records(stand_ins: LocalStandIns, data_set: str) -> list[dict[str, Any]]:
    session = requests.Session()
    session.trust_env = False
    with session:
        response = session.get(f"{stand_ins.url}/data/{data_set}", timeout=10)
    assert response.status_code == 200, f"GET /data/{data_set}: {response.status_code} {response.text}"
    return response.json()["data"]


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[LocalStandIns]:
    with LocalStandIns() as running:
        yield running  # type: ignore[misc]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, stand_ins: LocalStandIns) -> Path:
    directory = tmp_path_factory.mktemp("examples-run")
    copy_examples(EXAMPLES, directory / "examples", stand_ins.url)
    install_collector_package(directory / "examples" / "collector-package", directory / "site-packages")
    return directory


def install_collector_package(package: Path, target: Path) -> None:
    """`pip install` the example package, as its README section says, offline and beside the suite."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(package)],
        check=True, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def collected(work: Path, stand_ins: LocalStandIns) -> dict[str, CliResult]:
    """Every job of the jobs file, run once, in order, as cron would run it."""
    results = {}
    for job in example_jobs():
        results[job_id(job)] = run_cli_subprocess(
            [*job_argv(job), "--log-dir", str(work / "log")], env=collector_environment(work), cwd=work, timeout=60
        )
    return results


# The files themselves ---------------------------------------------------------------------------


def test_the_jobs_file_uses_every_example_file() -> None:
    jobs = example_jobs()
    assert len(jobs) >= 9
    assert {job.source for job in jobs if job.source_flag == "-q"} == {
        f"queries/{path.name}" for path in (EXAMPLES / "queries").glob("*.json")
    }
    assert {job.credentials for job in jobs} == {
        f"credentials/{path.name}" for path in (EXAMPLES / "credentials").glob("*.json")
    }
    assert {job.token for job in jobs} == {f"tokens/{path.name}" for path in (EXAMPLES / "tokens").glob("*.json")}
    assert [job.source for job in jobs if job.source_flag == "-l"] == [EXAMPLE_STAGECRAFT_COLLECTOR["slug"]]


def test_the_examples_send_nothing_anywhere_but_the_stand_ins() -> None:
    found = set()
    for path in EXAMPLES.rglob("*"):
        if path.is_file() and path.suffix not in (".p12", ".pyc"):
            found |= set(re.findall(r"https?://[^\s\"',)]+", path.read_text(encoding="utf-8")))
    endpoints = {url for url in found if url not in NOT_ENDPOINTS}
    assert endpoints, "the examples name the stand-ins somewhere"
    assert all(
        url == EXAMPLES_BASE_URL or url.startswith(EXAMPLES_BASE_URL + "/") for url in endpoints
    ), sorted(endpoints)


def test_the_example_accounts_are_the_ones_the_stand_ins_accept() -> None:
    def load(name: str) -> Any:
        return json.loads((EXAMPLES / name).read_text())

    assert {load(f"tokens/{name}.json")["token"] for name in EXAMPLE_BACKDROP_TOKENS} == set(
        EXAMPLE_BACKDROP_TOKENS.values()
    )
    assert load("backdrop.json")["omniscient_api_token"] == EXAMPLE_OMNISCIENT_TOKEN
    client = load("credentials/ga/client_secret.json")["installed"]
    assert (client["client_id"], client["client_secret"]) == (EXAMPLE_CLIENT_ID, EXAMPLE_CLIENT_SECRET)
    assert load("credentials/ga/storage.db")["refresh_token"] == EXAMPLE_REFRESH_TOKEN
    assert load("credentials/ga-stagecraft.json")["OAUTH2_CREDENTIALS"]["refresh_token"] == EXAMPLE_REFRESH_TOKEN
    assert load("credentials/ga/service-account-key.json")["client_email"] == EXAMPLE_SERVICE_ACCOUNTS[0]
    assert load("credentials/ga-p12.json")["ACCOUNT_NAME"] == EXAMPLE_SERVICE_ACCOUNTS[1]
    assert load("credentials/pingdom-3.1.json")["api_token"] == EXAMPLE_PINGDOM_API_TOKEN
    pingdom = load("credentials/pingdom-2.0.json")
    assert (pingdom["user"], pingdom["password"], pingdom["app_key"]) == (
        EXAMPLE_PINGDOM_USER, EXAMPLE_PINGDOM_PASSWORD, EXAMPLE_PINGDOM_APP_KEY,
    )
    assert load("credentials/matomo.json")["token_auth"] == EXAMPLE_MATOMO_TOKEN_AUTH


@pytest.mark.parametrize(
    "job", [job for job in example_jobs() if job.source_flag == "-q"], ids=job_id
)
def test_every_example_query_file_passes_check(job: Job, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The files as they are in the repository: relative paths in them are relative to its root.
    monkeypatch.chdir(REPO_ROOT)
    use_collector_package(monkeypatch, work)
    result = run_cli([*job_argv(job), "--department-codes", "examples/department-codes.json", "--check"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"examples/{job.source}: OK\n"


@pytest.fixture(scope="module")
def online_stand_ins() -> Iterator[LocalStandIns]:
    with LocalStandIns() as running:  # of its own: the tokens it issues are not the collections' to count
        yield running  # type: ignore[misc]


@pytest.fixture(scope="module")
def online_work(tmp_path_factory: pytest.TempPathFactory, online_stand_ins: LocalStandIns) -> Path:
    directory = tmp_path_factory.mktemp("examples-online")
    copy_examples(EXAMPLES, directory / "examples", online_stand_ins.url)
    install_collector_package(directory / "examples" / "collector-package", directory / "site-packages")
    return directory


@pytest.mark.parametrize(
    "job", [job for job in example_jobs() if job.source_flag == "-q"], ids=job_id
)
def test_every_example_query_file_passes_the_online_check_against_the_stand_ins(
    job: Job, online_work: Path, online_stand_ins: LocalStandIns
) -> None:
    # A copy whose files name the running stand-ins: each source and Backdrop prove themselves.
    work, stand_ins = online_work, online_stand_ins
    group, data_type = data_set_of(job, work / "examples").split("/")
    posts_before = len(stand_ins.backdrop.requests_to(f"^/data/{group}/{data_type}$", "POST"))
    result = run_cli_subprocess(
        [*job_argv(job), "--department-codes", "examples/department-codes.json", "--check", "--online"],
        env=collector_environment(work), cwd=work, timeout=60,
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    assert result.stdout.startswith(f"examples/{job.source}: OK (") and "answered 200 with the token)" in result.stdout
    # One push to Backdrop, of nothing.
    posts = stand_ins.backdrop.requests_to(f"^/data/{group}/{data_type}$", "POST")[posts_before:]
    assert [post.body for post in posts] == [b"[]"]


# Running them -----------------------------------------------------------------------------------


@pytest.mark.parametrize("job", example_jobs(), ids=job_id)
def test_every_example_collects_into_the_backdrop_stand_in(
    job: Job, collected: dict[str, CliResult], stand_ins: LocalStandIns, work: Path
) -> None:
    result = collected[job_id(job)]
    assert (result.exit_code, result.stderr) == (0, ""), result.all_output()[-3000:]
    records = get_records(stand_ins, data_set_of(job, work / "examples"))
    assert records
    assert all(record["_id"] and record["_timestamp"] for record in records)


def test_each_google_credentials_shape_got_its_access_token_its_own_way(
    collected: dict[str, CliResult], stand_ins: LocalStandIns, work: Path
) -> None:
    grants = {(issued.grant, issued.subject) for issued in stand_ins.oauth.issued.values()}
    # The stored user tokens (ga-user.json) refresh once: the first job writes the new token back
    # and the second uses it. The Stagecraft form (ga-stagecraft.json) has nowhere to keep one.
    assert ("refresh_token", "analyst@example.com") in grants
    assert sum(job.credentials == "credentials/ga-user.json" for job in example_jobs()) == 2
    assert stand_ins.oauth.count("refresh_token") == 2
    # The JSON key and the .p12 key each sign a JWT-bearer grant for their own account.
    assert {("jwt-bearer", account) for account in EXAMPLE_SERVICE_ACCOUNTS} <= grants
    # Only the storage file is written back: refreshed token, owner-only mode.
    storage = work / "examples" / "credentials" / "ga" / "storage.db"
    assert json.loads(storage.read_text())["access_token"] in stand_ins.oauth.issued
    assert stat.S_IMODE(storage.stat().st_mode) == 0o600
    embedded = json.loads((work / "examples" / "credentials" / "ga-stagecraft.json").read_text())
    assert embedded["OAUTH2_CREDENTIALS"]["access_token"] is None


def test_both_pingdom_apis_and_stagecraft_were_asked(
    collected: dict[str, CliResult], stand_ins: LocalStandIns
) -> None:
    summaries = stand_ins.pingdom.requests_to(r"/summary\.performance/", "GET")
    assert {request.path.split("/")[2] for request in summaries} == {"2.0", "3.1"}
    assert all(request.header("App-Key") == EXAMPLE_PINGDOM_APP_KEY
               for request in summaries if "/2.0/" in request.path)
    assert all(request.header("Authorization") == f"Bearer {EXAMPLE_PINGDOM_API_TOKEN}"
               for request in summaries if "/3.1/" in request.path)
    [fetch] = stand_ins.stagecraft.requests_to("^/collector/")
    assert fetch.path == f"/collector/{EXAMPLE_STAGECRAFT_COLLECTOR['slug']}"
    assert fetch.status == 200


def test_the_matomo_examples_posted_their_token(collected: dict[str, CliResult], stand_ins: LocalStandIns) -> None:
    calls = stand_ins.matomo.api_calls()
    assert {call.parameters["method"] for call in calls} == {
        "DevicesDetection.getType", "Goals.get", "Live.getCounters"
    }
    assert {(call.token_in, call.status) for call in calls} == {("body", 200)}


# As cron runs them -------------------------------------------------------------------------------


def collects_with_this_package(job: Job) -> bool:
    """The example package's collector needs `pip install` into the app's venv; the rest come with pp-collector."""
    if job.source_flag == "-l":
        return True
    return json.loads((EXAMPLES / job.source).read_text())["entrypoint"].startswith("performanceplatform.")


@pytest.fixture(scope="module")
def cron_stand_ins() -> Iterator[LocalStandIns]:
    with LocalStandIns() as running:  # stand-ins of its own: what lands is what the cron lines pushed
        yield running  # type: ignore[misc]


@pytest.fixture(scope="module")
def deployed_app(tmp_path_factory: pytest.TempPathFactory, cron_stand_ins: LocalStandIns) -> Path:
    """An app directory as the README's "Running from cron" lays one out: config/ (here, the
    examples), venv/bin/pp-collector (this test run's) and log/."""
    app = tmp_path_factory.mktemp("app with space")
    copy_examples(EXAMPLES, app / "config", cron_stand_ins.url)
    installed = Path(sys.executable).parent / "pp-collector"
    assert installed.is_file(), f"{installed} is missing: run the tests with the venv `make test` creates"
    (app / "venv" / "bin").mkdir(parents=True)
    (app / "venv" / "bin" / "pp-collector").symlink_to(installed)
    (app / "log").mkdir()
    return app


@dataclass(frozen=True)
class CronRun:
    line: str
    home: Path
    completed: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def cron_runs(deployed_app: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CronRun]:
    """Each job's line of the generated crontab, run as cron runs it, one after another."""
    generated = subprocess.run(
        [sys.executable, "-m", "performanceplatform.collector.crontab", str(deployed_app),
         str(deployed_app / "config" / "cronjobs"), "pp-collector", "--hosts", "1", "--hostname", "examples"],
        input="", capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    lines = [line for line in generated.splitlines() if "/venv/bin/pp-collector" in line]
    runs = {}
    for job, line in zip(example_jobs(), lines, strict=True):
        if not collects_with_this_package(job):
            continue
        home = tmp_path_factory.mktemp("home")  # cron's working directory: nothing of the app's
        # What cron gives a job: HOME, a minimal PATH, /bin/sh, the working directory $HOME; nothing else.
        completed = subprocess.run(
            ["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "SHELL=/bin/sh", "/bin/sh", "-c",
             line.removeprefix(f"{job.schedule} ")],
            cwd=home, capture_output=True, text=True, timeout=120, check=False,
        )
        runs[job_id(job)] = CronRun(line, home, completed)
    return runs


@pytest.mark.parametrize("job", [job for job in example_jobs() if collects_with_this_package(job)], ids=job_id)
def test_each_generated_cron_line_works_from_any_directory_with_crons_bare_environment(
    job: Job, cron_runs: dict[str, CronRun], deployed_app: Path, cron_stand_ins: LocalStandIns
) -> None:
    run = cron_runs[job_id(job)]
    assert run.line.startswith(f"{job.schedule} cd {shlex.quote(str(deployed_app))} && ")
    error_log = (deployed_app / "log" / "error.log").read_text()
    assert (run.completed.returncode, run.completed.stdout, run.completed.stderr, error_log) == (0, "", "", ""), (
        (deployed_app / "log" / "collector.log").read_text()[-3000:]
    )
    assert get_records(cron_stand_ins, data_set_of(job, deployed_app / "config"))
    assert list(run.home.iterdir()) == []  # no log/ or lock/ left in the working directory cron gave it


def test_the_cron_runs_logged_and_locked_in_the_app_and_found_the_keys_beside_the_credentials(
    cron_runs: dict[str, CronRun], deployed_app: Path
) -> None:
    assert (deployed_app / "lock").is_dir()
    log_text = (deployed_app / "log" / "collector.log").read_text()
    key = deployed_app / "config" / "credentials" / "ga" / "service-account-key.json"
    assert (f"key SERVICE_ACCOUNT_KEY: using {key}, beside the credentials file (ga/service-account-key.json is "
            f"not in the working directory {deployed_app})") in log_text


# The collector package ----------------------------------------------------------------------------


def test_the_collector_package_declares_the_module_its_query_file_names() -> None:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())
    entrypoint = json.loads((EXAMPLES / "queries" / "transactions.json").read_text())["entrypoint"]
    assert project["tool"]["setuptools"]["packages"] == [entrypoint]
    assert (PACKAGE / entrypoint / "__init__.py").is_file()
    assert "pp-collector" in project["project"]["dependencies"]
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"


def test_the_collector_package_pushes_the_rows_of_the_days_asked_for(work: Path, stand_ins: LocalStandIns) -> None:
    stand_ins.backdrop.add_data_set("carers-allowance", "transactions-week", EXAMPLE_BACKDROP_TOKENS["transactions"])
    query = json.loads((work / "examples" / "queries" / "transactions.json").read_text())
    query["data-set"]["data-type"] = "transactions-week"
    (work / "one-week.json").write_text(json.dumps(query))
    argv = ["-q", "one-week.json", "-c", "examples/credentials/none.json", "-t", "examples/tokens/transactions.json",
            "-b", "examples/backdrop.json", "--log-dir", "log", "-s", "2024-05-27", "-e", "2024-06-02"]

    for _ in range(2):  # a second run overwrites: deterministic _ids
        result = run_cli_subprocess(argv, env=collector_environment(work), cwd=work, timeout=60)
        assert (result.exit_code, result.stderr) == (0, "")

    records = get_records(stand_ins, "carers-allowance/transactions-week")
    lines = (EXAMPLES / "data" / "transactions.csv").read_text().splitlines()[1:]
    expected = [line.split(",") for line in lines if "2024-05-27" <= line.split(",")[0] <= "2024-06-02"]
    assert len(records) == len(expected) == 14
    first = records[0]
    assert {key: first[key] for key in ("_timestamp", "channel", "count", "service", "timeSpan", "dataType")} == {
        "_timestamp": "2024-05-27T00:00:00+00:00", "channel": expected[0][1], "count": int(expected[0][2]),
        "service": "carers-allowance", "timeSpan": "day", "dataType": "transactions-week",
    }
    assert first["humanId"] == f"transactions-week_20240527000000_day_{expected[0][1]}"
    assert first["_id"] == base64.urlsafe_b64encode(first["humanId"].encode()).decode()


def test_check_reports_what_the_collector_package_finds_wrong(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    query = json.loads((EXAMPLES / "queries" / "transactions.json").read_text())
    del query["query"]["path"]
    (work / "no-path.json").write_text(json.dumps(query))
    monkeypatch.chdir(work)
    use_collector_package(monkeypatch, work)
    result = run_cli(["-q", "no-path.json", "-c", "examples/credentials/none.json", "-t",
                      "examples/tokens/transactions.json", "-b", "examples/backdrop.json", "--check"])
    assert result.exit_code == 2
    assert result.stderr == (
        "pp-collector: check: query file no-path.json: query: key 'path': expected the CSV file's path, got None\n"
    )

