"""README.rst cannot drift from the tool: its commands run, its flags are the CLI's, its examples work.

Every line of a literal block that starts with `$ ` is a command. Each one is either run here, in
the README's order, from a directory holding a copy of examples/ (as a checkout does), with the
stand-ins the README starts itself, or listed in NOT_RUN with the reason it cannot run offline
and where it is tested instead. A new command in the README fails the first test until it is
one or the other.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests

from performanceplatform.collector.arguments import EPILOG
from performanceplatform.collector.demo import copy_examples
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.local import DEFAULT_SEED, SeededNumbers
from tests.support.cli import REPO_ROOT, run_cli

README = REPO_ROOT / "README.rst"
EXAMPLES = REPO_ROOT / "examples"
STANDINS = "python -m performanceplatform.collector.standins"
EXAMPLE_HOST = "127.0.0.1:8080"
NOT_RUN = {
    "make test": "it is this test suite",
    "make demo": "tests/test_demo.py runs the module it runs (python -m performanceplatform.collector.demo)",
    "pip install": "needs PyPI; the tests run the installed project, with examples/collector-package on "
    "PYTHONPATH as an install would put it",
    "tools/generate-ga-credentials.py": "needs a person at a browser; tests/tools/test_generate_ga_credentials.py "
    "runs it against the OAuth stand-in",
    "crontab -l": "would replace this machine's crontab; the generator runs below on examples/cronjobs",
    "redis-server": "would take the default port; tests/support/redis_server.py starts one on a free port",
    "celery -A performanceplatform.collector.celery": "needs a Redis server; tests/celery/ run real workers and "
    "beats against one",
    "python -m performanceplatform.collector.celery": "needs a Redis server and a worker; "
    "tests/celery/test_runs.py runs it against both",
}
RUN = ("pp-collector ", STANDINS, "python -m performanceplatform.collector.demo",
       "python -m performanceplatform.collector.crontab ", "python -m performanceplatform.collector.ga.migration ",
       "curl ")


@dataclass(frozen=True)
class Command:
    line: int
    text: str

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix)


def readme_commands() -> list[Command]:
    commands = []
    lines = README.read_text().splitlines()
    index = 0
    while index < len(lines):
        match = re.match(r"^ {4,}\$ (.*)$", lines[index])
        if match:
            start, text = index + 1, match.group(1)
            while text.endswith("\\"):
                index += 1
                text = text[:-1] + lines[index].strip()
            commands.append(Command(start, re.sub(r"\s+#.*$", "", text).strip()))
        index += 1
    return commands


def literal_blocks() -> list[str]:
    """The text of every `::` literal block, dedented."""
    blocks, lines = [], README.read_text().splitlines()
    for index, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        body = []
        for following in lines[index + 1 :]:
            if following.strip() and not following.startswith(" "):
                break
            body.append(following)
        text = "\n".join(body).strip("\n")
        indent = min(len(line) - len(line.lstrip()) for line in text.splitlines() if line.strip())
        blocks.append("\n".join(line[indent:] for line in text.splitlines()))
    return blocks


# What the README says -------------------------------------------------------------------------------


def test_every_command_is_run_here_or_says_why_not() -> None:
    commands = readme_commands()
    assert len(commands) >= 12
    unexplained = [c for c in commands if not any(c.startswith(prefix) for prefix in (*RUN, *NOT_RUN))]
    assert unexplained == []
    # An exemption nothing uses any more would hide a command that should now run.
    assert {prefix for prefix in NOT_RUN if any(c.startswith(prefix) for c in commands)} == set(NOT_RUN)


def test_the_readme_starts_with_the_two_commands() -> None:
    first = [line for line in literal_blocks()[0].splitlines() if line.strip()]
    assert [re.sub(r"\s+#.*$", "", line) for line in first] == ["$ make demo", "$ make test"]


def help_options(argv: list[str]) -> set[str]:
    completed = subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True, check=True,
                               timeout=60)
    options = set()
    for line in completed.stdout.split("options:", 1)[1].splitlines():
        if line.startswith("  -"):
            options |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line.split("  ")[1]))
    return options


def table_options(section: str) -> set[str]:
    """The flags in the first column of the first table after the heading `section`."""
    text = README.read_text().split(f"\n{section}\n", 1)[1]
    table = text.split("\n=====", 1)[1].split("\n=====", 1)[0]
    return {flag for line in table.splitlines()[1:] for flag in re.findall(r"``(--?[a-zA-Z][\w-]*)", line[:36])}


def test_the_flags_documented_are_the_flags_pp_collector_has() -> None:
    documented = table_options("Usage")
    assert documented == help_options(["-m", "performanceplatform.collector"])


def test_the_stand_ins_options_documented_are_the_ones_it_has() -> None:
    assert table_options("Trying it offline") | {"-h", "--help"} == help_options(
        ["-m", "performanceplatform.collector.standins"]
    )


def test_the_demo_options_are_documented() -> None:
    text = README.read_text()
    for option in help_options(["-m", "performanceplatform.collector.demo"]) - {"-h", "--help"}:
        assert f"``{option} " in text, option


def test_every_exit_code_is_documented() -> None:
    codes = re.findall(r"^  (\d+) ", EPILOG.split("environment:")[0], re.MULTILINE)
    paragraph = README.read_text().split("Exit codes:", 1)[1].split("\n\n", 1)[0]
    assert codes == ["0", "1", "2", "130"]
    for code in [*codes, "143"]:
        assert f"``{code}``" in paragraph


def test_every_environment_variable_is_documented() -> None:
    variables = set(re.findall(r"\b(?:LOGLEVEL|DISABLE_COLLECTORS|PP_COLLECTOR_[A-Z_]+)", EPILOG))
    text = README.read_text()
    for variable in variables | {"GOVUK_STATSD_PREFIX", "STATSD_HOST", "STATSD_PORT"}:
        assert f"``{variable}" in text, variable


def test_the_query_file_shown_passes_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    documents = []
    for block in literal_blocks():
        try:
            document = json.loads(block)
        except ValueError:
            continue
        if isinstance(document, dict) and "entrypoint" in document:
            documents.append(document)
    assert documents
    monkeypatch.chdir(REPO_ROOT)
    for number, document in enumerate(documents):
        query = tmp_path / f"query-{number}.json"
        query.write_text(json.dumps(document))
        result = run_cli(["-q", str(query), "-c", "examples/credentials/ga-service-account.json",
                          "-t", "examples/tokens/ga.json", "-b", "examples/backdrop.json", "--check"])
        assert (result.exit_code, result.stderr) == (0, "")


def test_the_collector_main_shown_is_the_example_package_s() -> None:
    source = (EXAMPLES / "collector-package" / "pp_collector_csv" / "__init__.py").read_text()
    [block] = [block for block in literal_blocks() if block.startswith("def main(") and "\n" in block]
    for line in block.splitlines()[1:]:
        statement = line.split("#")[0].strip()
        assert statement in source, statement


# Running the commands -----------------------------------------------------------------------------


@dataclass
class StandIns:
    process: subprocess.Popen[str]
    url: str
    first_lines: str


def start_stand_ins(command: str, work: Path) -> StandIns:
    """The README's stand-ins command, on a free port instead of 8080."""
    command = re.sub(r"--port \d+", "", command) + " --port 0"
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=work, env=environment(work),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.match(r"Stand-ins listening on (http://127\.0\.0\.1:\d+) ", first)
    if not match:
        process.kill()
        raise AssertionError(f"the stand-ins did not start: {first}{process.communicate()}")
    return StandIns(process, match.group(1), first)


def stop_stand_ins(stand_ins: StandIns) -> str:
    stand_ins.process.send_signal(signal.SIGTERM)
    stdout, _ = stand_ins.process.communicate(timeout=30)
    assert stand_ins.process.returncode == 0
    return stdout


def environment(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        # `pp-collector` and `python` are the ones installed beside this interpreter.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        # The collector package as `pip install ./examples/collector-package` would provide it.
        "PYTHONPATH": str(work / "examples" / "collector-package"),
        "PP_COLLECTOR_RETRY_BASE_DELAY": "0.001",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def get(url: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    with session:
        return session.get(url, timeout=10)


@pytest.mark.slow
def test_every_offline_command_of_the_readme_runs(tmp_path: Path) -> None:
    work = tmp_path
    commands = [c for c in readme_commands() if not any(c.startswith(prefix) for prefix in NOT_RUN)]
    [stand_ins_command] = {c.text for c in commands if c.startswith(STANDINS)}
    stand_ins = start_stand_ins(stand_ins_command, work)
    ran = []
    try:
        copy_examples(EXAMPLES, work / "examples", stand_ins.url)
        host = stand_ins.url.removeprefix("http://")
        for command in commands:
            if command.startswith(STANDINS):
                continue
            text = command.text.replace(EXAMPLE_HOST, host)
            where = f"README.rst line {command.line}: {command.text}"
            if command.startswith("curl "):
                [url] = re.findall(r"http://\S+", text)
                response = get(url)
                assert response.status_code == 200, where
                assert response.json()["data"], where
            else:
                completed = subprocess.run(["bash", "-c", text], cwd=work, env=environment(work),
                                           capture_output=True, text=True, timeout=120, check=False)
                assert completed.returncode == 0, f"{where}\n{completed.stdout}\n{completed.stderr}"
                check_output(command.text, completed.stdout, stand_ins.url)
            ran.append(command)
    finally:
        output = stop_stand_ins(stand_ins)
    assert "standins: stopped" in output
    assert len(ran) >= 8

    # --database: what was collected is still there after a restart.
    restarted = start_stand_ins(stand_ins_command, work)
    try:
        records = get(f"{restarted.url}/data/carers-allowance/device-usage").json()["data"]
    finally:
        stop_stand_ins(restarted)
    assert len(records) == 12


def check_output(command: str, stdout: str, url: str) -> None:
    """What a few commands must print, beyond exiting 0."""
    if "--check --online" in command:
        assert stdout.endswith(" answered 200 with the token)\n") and ": OK (" in stdout
    elif "--check" in command:
        assert stdout.endswith(": OK\n")
    if "--dry-run" in command:
        # The data set the command's query file names.
        [query_file] = re.findall(r"-q (\S+)", command)
        data_set = json.loads((REPO_ROOT / query_file).read_text())["data-set"]
        assert f"POST {url}/data/{data_set['data-group']}/{data_set['data-type']}" in stdout
    if command.startswith("python -m performanceplatform.collector.crontab"):
        assert stdout.startswith("# Begin performanceplatform.collector jobs for pp-collector\n")
        assert stdout.count("/var/apps/pp-collector/venv/bin/pp-collector ") == len(
            [line for line in (EXAMPLES / "cronjobs").read_text().splitlines() if line and not line.startswith("#")]
        )
    if command.startswith("python -m performanceplatform.collector.demo"):
        assert "collections succeeded" in stdout
    if command.startswith("python -m performanceplatform.collector.ga.migration"):
        assert stdout.startswith("GA4 migration report: ")
        assert "refused:                            0" in stdout


# What the README says GA4 does ---------------------------------------------------------------------

GA4_REFUSED = {
    "metrics": ["goal1Completions", "uniquePageviews", "uniqueEvents", "entrances"],
    "dimensions": ["eventCategory", "eventAction", "eventLabel", "dimension9", "browserVersion"],
}
GA4_TRANSLATED = {
    "users": "totalUsers",
    "pageviews": "screenPageViews",
    "avgSessionDuration": "averageSessionDuration",
    "pagePath": "pagePathPlusQueryString",
    "userType": "newVsReturning",
}


def migration_text() -> str:
    """The README's paragraphs on moving to GA4, on one line."""
    text = README.read_text().split("**Universal Analytics → GA4.**", 1)[1].split("**Pingdom 2.0", 1)[0]
    return " ".join(text.split())


def check_ga4(tmp_path: Path, query: dict[str, object], entrypoint: str = "ga") -> tuple[int, str]:
    path = tmp_path / "ga4.json"
    path.write_text(json.dumps({
        "entrypoint": f"performanceplatform.collector.{entrypoint}",
        "data-set": {"data-group": "carers-allowance", "data-type": "device-usage"},
        "query": query,
    }))
    result = run_cli(["-q", str(path), "-c", "examples/credentials/ga-service-account.json",
                      "-t", "examples/tokens/ga.json", "-b", "examples/backdrop.json", "--check"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(("key", "name"), [(key, name) for key, names in GA4_REFUSED.items() for name in names])
def test_what_the_readme_says_ga4_refuses_is_refused(
    key: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert f"``{name}``" in migration_text()
    monkeypatch.chdir(REPO_ROOT)
    query = {"id": "properties/123456789", "metrics": ["sessions"], "dimensions": ["deviceCategory"]}
    query[key] = [*query[key], name]  # type: ignore[misc]
    exit_code, stderr = check_ga4(tmp_path, query)
    assert exit_code == 2
    assert f"key 'query.{key}': '{name}' has no GA4 equivalent" in stderr


def test_a_segment_and_a_realtime_page_path_are_refused_for_ga4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    exit_code, stderr = check_ga4(tmp_path, {"id": "properties/123456789", "metrics": ["sessions"],
                                             "segment": "sessions::condition::ga:pagePath=~/vat"})
    assert (exit_code, "key 'query.segment'" in stderr) == (2, True)
    exit_code, stderr = check_ga4(tmp_path, {"ids": "properties/123456789", "metrics": "rt:activeUsers",
                                             "filters": "ga:pagePath=~^/carers-allowance"}, "ga.realtime")
    assert (exit_code, "key 'query.filters'" in stderr) == (2, True)


def test_the_ga4_names_the_readme_gives_are_the_ones_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from performanceplatform.collector.standins.local import LocalStandIns

    for ua, ga4 in GA4_TRANSLATED.items():
        assert f"``{ua}`` → ``{ga4}``" in migration_text()
    query = {"id": "properties/123456789", "metrics": ["users", "pageviews", "avgSessionDuration"],
             "dimensions": ["pagePath", "userType"]}
    with LocalStandIns() as stand_ins:
        copy_examples(EXAMPLES, tmp_path / "examples", stand_ins.url)
        monkeypatch.chdir(tmp_path)
        path = tmp_path / "query.json"
        path.write_text(json.dumps({"entrypoint": "performanceplatform.collector.ga",
                                    "data-set": {"data-group": "carers-allowance", "data-type": "pages"},
                                    "query": query}))
        result = run_cli(["-q", str(path), "-c", "examples/credentials/ga-service-account.json", "-t",
                          "examples/tokens/ga.json", "-b", "examples/backdrop.json", "-s", "2024-05-06",
                          "--end", "2024-05-12", "--dry-run", "--log-dir", str(tmp_path / "log")])
        [body] = stand_ins.analytics_data.report_bodies()
    assert result.exit_code == 0, result.all_output()
    assert [item["name"] for item in body["metrics"]] == [GA4_TRANSLATED[name] for name in query["metrics"]]
    assert [item["name"] for item in body["dimensions"]] == [GA4_TRANSLATED[name] for name in query["dimensions"]]
    # The records (the body the dry run printed) keep the names the query wrote, and UA's values.
    [records] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    assert {"users", "pageviews", "avgSessionDuration", "pagePath", "userType"} <= set(records[0])
    assert {record["userType"] for record in records} == {"New Visitor", "Returning Visitor"}


# The stand-ins command's promises ------------------------------------------------------------------


def post(url: str, token: str, records: list[dict[str, object]], method: str = "POST") -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    with session:
        return session.request(method, url, json=records, timeout=10,
                               headers={"Authorization": f"Bearer {token}"})


def test_the_stand_ins_accept_the_tokens_they_are_given_and_make_up_numbers_from_the_seed(tmp_path: Path) -> None:
    stand_ins = start_stand_ins(f"{STANDINS} --backdrop-token my-own-token --seed 7", tmp_path)
    try:
        record = {"_id": "one", "_timestamp": "2024-06-01T00:00:00+00:00", "count": 3}
        assert post(f"{stand_ins.url}/data/my-group/my-type", "my-own-token", [record]).status_code == 200
        assert post(f"{stand_ins.url}/data/other-group/other-type", "not-a-token", [record]).status_code == 404
        # The data set now belongs to the token that created it, as a Backdrop data set has one.
        assert post(f"{stand_ins.url}/data/my-group/my-type", "example-ga-token", [record]).status_code == 401
        stored = get(f"{stand_ins.url}/data/my-group/my-type").json()["data"]
        assert [(item["_id"], item["count"]) for item in stored] == [("one", 3)]
        assert get(f"{stand_ins.url}/data/other-group/other-type").status_code == 404
        copy_examples(EXAMPLES, tmp_path / "examples", stand_ins.url)
        seeded = subprocess.run(
            ["pp-collector", "-q", "examples/queries/ga4-weekly-devices.json", "-c",
             "examples/credentials/ga-service-account.json", "-t", "examples/tokens/ga.json", "-b",
             "examples/backdrop.json", "-s", "2024-05-06", "-e", "2024-05-12", "--dry-run", "--log-dir", "log"],
            cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=60, check=True,
        )
    finally:
        stop_stand_ins(stand_ins)
    [records] = [json.loads(line) for line in seeded.stdout.splitlines() if line.startswith("[")]
    default = SeededNumbers(DEFAULT_SEED).rows(
        "properties/123456789|None", ["deviceCategory"], ["sessions"], date(2024, 5, 6), date(2024, 5, 12)
    )
    with_seed_7 = SeededNumbers(7).rows(
        "properties/123456789|None", ["deviceCategory"], ["sessions"], date(2024, 5, 6), date(2024, 5, 12)
    )
    assert sorted(record["sessions"] for record in records) == sorted(int(row["sessions"]) for row in with_seed_7)
    assert sorted(row["sessions"] for row in with_seed_7) != sorted(row["sessions"] for row in default)


def test_the_backdrop_stand_in_keeps_its_data_in_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "backdrop.sqlite3"
    first = BackdropStandIn(database=database, open_tokens={"token"}).start()
    try:
        url = f"{first.url}/data/group/type"
        records = [{"_id": f"r{n}", "_timestamp": "2024-06-01T00:00:00+00:00", "count": n} for n in (3, 1, 2)]
        assert post(url, "token", records).status_code == 200
        assert post(url, "token", [{**records[1], "count": 10}]).status_code == 200  # an upsert keeps its place
        assert post(f"{first.url}/data/group/emptied", "token", records).status_code == 200
        assert post(f"{first.url}/data/group/emptied", "token", [], method="PUT").status_code == 200
    finally:
        first.stop()

    second = BackdropStandIn(database=database).start()
    try:
        assert second.data_sets() == [("group", "type"), ("group", "emptied")]
        assert [(item["_id"], item["count"]) for item in second.records("group", "type")] == [
            ("r3", 3), ("r1", 10), ("r2", 2),
        ]
        assert second.records("group", "emptied") == []
        # The token the data set was created with came back too.
        assert post(f"{second.url}/data/group/type", "token", records[:1]).status_code == 200
        assert post(f"{second.url}/data/group/type", "other", records[:1]).status_code == 401
        second.add_data_set("group", "type", "token")  # configured afresh: empty, in the file too
    finally:
        second.stop()
    third = BackdropStandIn(database=database)
    try:
        assert third.records("group", "type") == []
    finally:
        third.stop()  # never started: only closes the file
