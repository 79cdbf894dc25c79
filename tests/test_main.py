"""The command line as a user and cron drive it: flags, the four files, exit codes, stderr."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from performanceplatform.collector import __version__
from performanceplatform.collector.standins.stagecraft import StagecraftStandIn
from tests.support.cli import BACKDROP_TOKEN, ConfigFiles, run_cli, run_cli_subprocess

RECORDER = "tests.collectors.recorder"
BACKDROP = "http://127.0.0.1:9/data"  # never contacted: the recorder collector pushes nothing


def recorder_run(configs: ConfigFiles, *extra: str, query_extra=None, options=None, **document):
    record_to = configs.root / "recorded.json"
    query_path = configs.query(
        RECORDER, {"record_to": str(record_to), **(query_extra or {})}, options, **document
    )
    result = run_cli([*configs.args(query=query_path, backdrop=configs.backdrop(BACKDROP)), *extra])
    recorded = json.loads(record_to.read_text()) if record_to.exists() else None
    return result, recorded


def single_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pp-collector: error: ")
    return lines[0]


# Flags -------------------------------------------------------------------------------------------


def test_help_and_version_run_as_a_console_script():
    helped = run_cli_subprocess(["--help"])
    assert helped.exit_code == 0
    for flag in ("--query", "--collector", "--credentials", "--token", "--performanceplatform",
                 "--start", "--end", "--console-logging", "--dry-run", "--version", "--log-dir"):
        assert flag in helped.stdout
    assert "exit codes" in helped.stdout
    version = run_cli_subprocess(["--version"])
    assert version.exit_code == 0
    assert version.stdout.strip() == f"pp-collector {__version__}"


def test_help_does_not_import_google_libraries():
    script = (
        "import sys\n"
        "from performanceplatform.collector.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('googleapiclient', 'google.auth', 'httplib2')))\n"
        "print(heavy)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["-q", "q.json", "-l", "slug", "-c", "c.json", "-t", "t.json", "-b", "b.json"],
        ["-c", "c.json", "-t", "t.json", "-b", "b.json"],
        ["-q", "q.json", "-t", "t.json", "-b", "b.json"],
        ["-q", "q.json", "-c", "c.json", "-t", "t.json"],
        ["-q", "q.json", "-c", "c.json", "-t", "t.json", "-b", "b.json", "-s", "not-a-date"],
        ["-q", "q.json", "-c", "c.json", "-t", "t.json", "-b", "b.json", "-e", "2014-13-45"],
    ],
    ids=["query-and-collector", "neither", "no-credentials", "no-backdrop", "bad-start", "bad-end"],
)
def test_usage_errors_exit_2(argv):
    result = run_cli(argv)
    assert result.exit_code == 2
    assert "usage: pp-collector" in result.stderr


# Dates: what the original read unambiguously, still; a guess, never ---------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("-s", "2014-08-03", "2014-08-03T00:00:00"),
        ("-s", "20140803", "2014-08-03T00:00:00"),
        ("-s", "2014/08/03", "2014-08-03T00:00:00"),
        ("-s", "2014-08-03T10:00:00+01:00", "2014-08-03T10:00:00+01:00"),
        ("-s", "2014-08-03 10:00Z", "2014-08-03T10:00:00+00:00"),
        ("-s", "3 August 2014", "2014-08-03T00:00:00"),
        ("-s", "August 3, 2014", "2014-08-03T00:00:00"),
        ("-s", "Aug 3 2014 10:30", "2014-08-03T10:30:00"),
        # Numeric, but only one order makes a date of it (13 is no month), or both orders agree.
        ("-s", "13/02/2024", "2024-02-13T00:00:00"),
        ("-s", "01/01/2024", "2024-01-01T00:00:00"),
        ("-e", "3 August 2014", "2014-08-03T00:00:00"),
    ],
)
def test_unambiguous_dates_reach_the_collector(configs, flag, value, expected):
    result, recorded = recorder_run(configs, flag, value)
    assert result.exit_code == 0, result.stderr
    assert recorded["start_at" if flag == "-s" else "end_at"] == expected


@freeze_time("2024-09-10 12:00")  # what the original filled a missing year or day from
@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("-e", "June 2", "'June 2' has no year"),
        ("-s", "2 June", "'2 June' has no year"),
        ("-s", "June 2024", "'June 2024' has no day"),
        ("-s", "2024-06", "'2024-06' has no day"),
        ("-s", "10:00", "'10:00' has no year, month and day"),
        ("-s", "01/02/2024", "'01/02/2024' could be 2 January 2024 or 1 February 2024"),
        ("-e", "02-01-2024", "'02-01-2024' could be 2 January 2024 or 1 February 2024"),
        ("-s", "1/2/24", "'1/2/24' could be 24 February 2001, 2 January 2024 or 1 February 2024"),
        ("-s", "2 Jun 24", "'2 Jun 24' could be 24 June 2002 or 2 June 2024"),
        ("-s", "2024-02-30", "'2024-02-30' is not a date"),
    ],
)
def test_dates_that_need_a_guess_are_refused_asking_for_iso_8601(configs, flag, value, problem):
    result, recorded = recorder_run(configs, flag, value)
    assert result.exit_code == 2
    assert recorded is None  # the collector never ran
    error = result.stderr.strip().splitlines()[-1]
    option = "-s/--start" if flag == "-s" else "-e/--end"
    assert error.startswith(f"pp-collector: error: argument {option}: {problem}")
    assert error.endswith("write it as YYYY-MM-DD (ISO 8601), e.g. 2014-08-03, or 2014-08-03T10:00:00+01:00 with a "
                          "time")


@pytest.mark.parametrize("value", ["-1", "-0.5", "nan", "inf", "soon"])
def test_lock_wait_must_be_a_number_of_seconds_zero_or_more(configs, value):
    result, recorded = recorder_run(configs, "--lock-wait", value)
    assert result.exit_code == 2
    assert recorded is None
    assert result.stderr.strip().splitlines()[-1].startswith(
        "pp-collector: error: argument --lock-wait: expected a number of seconds"
    )
    assert f"got '{value}'" in result.stderr


def test_lock_wait_of_zero_is_accepted(configs):
    result, recorded = recorder_run(configs, "--lock-wait", "0")
    assert (result.exit_code, result.stderr) == (0, "")
    assert recorded is not None


def test_files_saved_with_a_byte_order_mark_are_read(configs):
    # What Notepad and other Windows editors write at the start of a UTF-8 file.
    record_to = configs.root / "recorded.json"
    documents = {
        "query.json": {"entrypoint": RECORDER, "data-set": {"data-group": "g", "data-type": "t"},
                       "query": {"record_to": str(record_to)}, "options": {}},
        "credentials.json": {"api_token": "t0ken"},
        "token.json": {"token": BACKDROP_TOKEN},
        "backdrop.json": {"backdrop_url": BACKDROP},
    }
    paths = {}
    for name, document in documents.items():
        paths[name] = configs.root / name
        paths[name].write_bytes(codecs.BOM_UTF8 + json.dumps(document, indent=2).encode())

    result = run_cli(configs.args(query=paths["query.json"], backdrop=paths["backdrop.json"],
                                  credentials=paths["credentials.json"], token=paths["token.json"]))

    assert (result.exit_code, result.stderr) == (0, "")
    recorded = json.loads(record_to.read_text())
    assert recorded["credentials"] == {"api_token": "t0ken"}
    assert recorded["data_set_config"]["token"] == BACKDROP_TOKEN


def test_calls_main_with_the_original_arguments(configs):
    result, recorded = recorder_run(
        configs, "-s", "2014-08-03", "-e", "2014-08-10T10:00+01:00", options={"chunk-size": 5}
    )
    assert result.exit_code == 0, result.stderr
    assert recorded["data_set_config"] == {
        "url": f"{BACKDROP}/group/type",
        "token": BACKDROP_TOKEN,
        "data-group": "group",
        "data-type": "type",
        "dry_run": False,
    }
    assert recorded["options"] == {"chunk-size": 5}
    assert recorded["start_at"] == "2014-08-03T00:00:00"
    assert recorded["end_at"] == "2014-08-10T10:00:00+01:00"
    assert "path_to_json_file" not in recorded["credentials"]
    assert "path_to_json_file" not in recorded["query"]


def test_dry_run_flag_reaches_the_data_set_config(configs):
    result, recorded = recorder_run(configs, "--dry-run")
    assert result.exit_code == 0
    assert recorded["data_set_config"]["dry_run"] is True


def test_older_backdrop_files_name_the_base_url_url(configs):
    record_to = configs.root / "recorded.json"
    query = configs.query(RECORDER, {"record_to": str(record_to)})
    backdrop = configs.write("old-backdrop.json", {"url": "http://127.0.0.1:9/data/"})
    result = run_cli(configs.args(query=query, backdrop=backdrop))
    assert result.exit_code == 0, result.stderr
    assert json.loads(record_to.read_text())["data_set_config"]["url"] == "http://127.0.0.1:9/data/group/type"


def test_loading_leaves_the_files_and_the_loaded_configs_unchanged(configs):
    record_to = configs.root / "recorded.json"
    query = configs.query(RECORDER, {"record_to": str(record_to)}, {"additionalFields": {"a": "b"}},
                          repeat="hourly", token="ga", maxResults=100)
    before = query.read_text()
    credentials = configs.credentials({"user": "someone"})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP), credentials=credentials))
    assert result.exit_code == 0, result.stderr
    assert query.read_text() == before
    recorded = json.loads(record_to.read_text())
    assert recorded["credentials"] == {"user": "someone"}
    assert recorded["options"] == {"additionalFields": {"a": "b"}}


def test_top_level_plugins_are_passed_as_options_plugins(configs):
    result, recorded = recorder_run(configs, plugins=["Comment('top level')"])
    assert result.exit_code == 0, result.stderr
    assert recorded["options"]["plugins"] == ["Comment('top level')"]


def test_plugins_at_both_levels_is_an_error(configs):
    result, recorded = recorder_run(
        configs, options={"plugins": ["Comment('a')"]}, plugins=["Comment('b')"]
    )
    assert result.exit_code == 2
    assert recorded is None
    line = single_error_line(result)
    assert "'plugins'" in line and "both" in line


@pytest.mark.parametrize("value", ["true", "TRUE", "True", " true "])
def test_disable_collectors_logs_what_would_have_run(configs, monkeypatch, value):
    monkeypatch.setenv("DISABLE_COLLECTORS", value)
    result, recorded = recorder_run(configs, "--console-logging")
    assert result.exit_code == 0
    assert recorded is None
    assert f"Collector {RECORDER} NOT run with the following" in result.stderr


# Bad input: one clear line naming the file and the key --------------------------------------------


def write_and_run(configs: ConfigFiles, text: str):
    query = configs.write("bad-query.json", text)
    return run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP))), query


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{\n  "entrypoint": "x",\n  // a comment\n  "query": {}\n}', "line 3, column 3"),
        ('{\n  "entrypoint": "x",\n  "query": {},\n}', "trailing comma"),
        ('{\n  "entrypoint": "x",\n  "options": {\n', "ends before every bracket is closed"),
        ('{\n<<<<<<< HEAD\n  "entrypoint": "x"\n=======\n>>>>>>> branch\n}', "merge conflict"),
        ('{\n  "a": 1,\n  // comment\n}', "comments"),
    ],
    ids=["comment-position", "trailing-comma", "unclosed-brace", "conflict-markers", "comment-hint"],
)
def test_invalid_json_names_the_file_line_and_column(configs, text, expected):
    result, query = write_and_run(configs, text)
    assert result.exit_code == 2
    line = single_error_line(result)
    assert f"query file {query}" in line
    assert "line " in line and "column " in line
    assert expected in line


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "expected a JSON object at the top level, found an array"),
        ({"data-set": {"data-group": "g", "data-type": "t"}, "query": {}}, "key 'entrypoint': missing"),
        ({"entrypoint": RECORDER, "query": {}}, "key 'data-set': missing"),
        ({"entrypoint": RECORDER, "data-set": {"data-type": "t"}, "query": {}}, "key 'data-set.data-group': missing"),
        ({"entrypoint": RECORDER, "data-set": {"data-group": "g"}, "query": {}}, "key 'data-set.data-type': missing"),
        ({"entrypoint": RECORDER, "data-set": {"data-group": "g", "data-type": ""}, "query": {}},
         "key 'data-set.data-type': expected a non-empty string"),
        ({"entrypoint": RECORDER, "data-set": {"data-group": "g", "data-type": "t"}}, "key 'query': missing"),
        ({"entrypoint": RECORDER, "data-set": {"data-group": "g", "data-type": "t"}, "query": []},
         "key 'query': expected an object, found an array"),
        ({"entrypoint": RECORDER, "data-set": {"data-group": "g", "data-type": "t"}, "query": {}, "options": "x"},
         "key 'options': expected an object, found a string"),
        ({"entrypoint": "not a module!", "data-set": {"data-group": "g", "data-type": "t"}, "query": {}},
         "key 'entrypoint': expected a dotted module path"),
    ],
    ids=["array", "no-entrypoint", "no-data-set", "no-group", "no-type", "empty-type", "no-query",
         "query-list", "options-string", "entrypoint-syntax"],
)
def test_query_file_mistakes(configs, document, expected):
    result, query = write_and_run(configs, json.dumps(document))
    assert result.exit_code == 2
    line = single_error_line(result)
    assert f"query file {query}" in line
    assert expected in line


def test_unknown_entrypoint_lists_the_known_ones(configs):
    query = configs.query("performanceplatform.collector.webtrends.reports", {})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP)))
    assert result.exit_code == 2
    line = single_error_line(result)
    assert "no module named 'performanceplatform.collector.webtrends.reports'" in line
    assert "performanceplatform.collector.ga.realtime" in line
    assert "performanceplatform.collector.pingdom" in line


def test_entrypoint_without_main(configs):
    query = configs.query("tests.collectors.no_main", {})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP)))
    assert result.exit_code == 2
    assert "'tests.collectors.no_main' has no main(" in single_error_line(result)


def test_entrypoint_whose_dependency_is_missing(configs):
    query = configs.query("tests.collectors.broken_import", {})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP)))
    assert result.exit_code == 2
    assert "needs the module 'a_dependency_that_is_not_installed'" in single_error_line(result)


@pytest.mark.parametrize(
    ("role", "content", "expected"),
    [
        ("token", {"tok": "x"}, "key 'token': missing"),
        ("token", {"token": ""}, "key 'token': expected a non-empty string"),
        ("backdrop", {"stagecraft_url": "x"}, "key 'backdrop_url': missing"),
        ("backdrop", {"backdrop_url": "ftp://x"}, "key 'backdrop_url': expected an http(s) URL"),
        ("credentials", [1, 2], "expected a JSON object at the top level, found an array"),
    ],
)
def test_token_backdrop_and_credentials_mistakes(configs, role, content, expected):
    query = configs.query(RECORDER, {"record_to": str(configs.root / "never.json")})
    files = {"query": query, "backdrop": configs.backdrop(BACKDROP)}
    files[role] = configs.write(f"bad-{role}.json", content)
    result = run_cli(configs.args(**files))
    assert result.exit_code == 2
    line = single_error_line(result)
    assert str(files[role]) in line
    assert expected in line
    assert not (configs.root / "never.json").exists()


def test_missing_and_unreadable_files(configs, tmp_path):
    query = configs.query(RECORDER, {})
    missing = run_cli(configs.args(query=query, backdrop=tmp_path / "nowhere.json"))
    assert missing.exit_code == 2
    assert f"Backdrop file {tmp_path / 'nowhere.json'}: file does not exist" in single_error_line(missing)
    directory = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP), credentials=tmp_path))
    assert directory.exit_code == 2
    assert "expected a file, found a directory" in single_error_line(directory)


def test_end_before_start(configs):
    result, recorded = recorder_run(configs, "-s", "2014-08-10", "-e", "2014-08-03")
    assert result.exit_code == 2
    assert recorded is None
    assert "--end 2014-08-03T00:00:00 is before --start 2014-08-10T00:00:00" in single_error_line(result)


def test_invalid_loglevel(configs, monkeypatch):
    monkeypatch.setenv("LOGLEVEL", "LOUD")
    result, recorded = recorder_run(configs)
    assert result.exit_code == 2
    assert recorded is None
    assert "environment variable LOGLEVEL: expected one of DEBUG" in single_error_line(result)


def test_a_crashing_collector_exits_1_with_one_line_and_the_traceback_in_the_log(configs):
    result, recorded = recorder_run(configs, query_extra={"then": "crash"})
    assert recorded is not None
    assert result.exit_code == 1
    line = single_error_line(result)
    assert "RuntimeError: the recorder was told to crash" in line
    assert "Traceback" not in result.stderr
    assert "Traceback (most recent call last)" in result.text_log()


# Logging ----------------------------------------------------------------------------------------


def test_json_log_lines_carry_the_run_context(configs):
    result, _ = recorder_run(configs, options={})
    assert result.exit_code == 0
    lines = result.json_log()
    assert lines, "no JSON log written"
    for line in lines:
        assert line["@tags"] == ["collector", RECORDER]
        assert line["@timestamp"].endswith("Z")
        fields = line["@fields"]
        assert fields["data_group"] == "group"
        assert fields["data_type"] == "type"
        assert fields["data_group_data_type"] == "group/type"
        assert fields["path_to_query"] == str(configs.root / "query.json")
        assert fields["query"].startswith("record_to=")
    assert lines[0]["@message"] == f"{RECORDER} logging started"
    assert any(line["@message"] == "Running collection into group/type" for line in lines)
    assert "Running collection into group/type" in result.text_log()


def test_loglevel_is_honoured_in_file_mode(configs, monkeypatch):
    monkeypatch.setenv("LOGLEVEL", "warning")
    result, _ = recorder_run(configs)
    assert result.exit_code == 0
    assert result.json_log() == []


def test_console_logging_writes_to_stderr_not_files(configs):
    result, _ = recorder_run(configs, "--console-logging")
    assert result.exit_code == 0
    assert "Running collection into group/type" in result.stderr
    assert not (Path.cwd() / "log").exists()


def test_default_log_directory_is_created_in_the_working_directory(configs, tmp_path):
    record_to = configs.root / "recorded.json"
    query = configs.query(RECORDER, {"record_to": str(record_to)})
    argv = ["-q", str(query), "-c", str(configs.credentials()), "-t", str(configs.token()),
            "-b", str(configs.backdrop(BACKDROP))]
    result = run_cli(argv)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "log" / "collector.json.log").exists()


def test_many_processes_appending_to_one_log_keep_every_line_whole(configs, tmp_path):
    import subprocess
    import sys

    log_dir = tmp_path / "shared-log"
    script = (
        "import logging, sys\n"
        "from performanceplatform.collector.logging_setup import configure\n"
        "setup = configure(console=False, log_dir=sys.argv[1], level=logging.INFO)\n"
        "for i in range(300):\n"
        "    logging.getLogger('writer').info('process %s line %d %s', sys.argv[2], i, 'x' * 200)\n"
        "setup.close()\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(log_dir), str(n)]) for n in range(4)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    lines = (log_dir / "collector.json.log").read_text().splitlines()
    assert len(lines) == 1200
    messages = {json.loads(line)["@message"] for line in lines}
    assert len(messages) == 1200
    assert len((log_dir / "collector.log").read_text().splitlines()) == 1200


# Secrets ----------------------------------------------------------------------------------------


def test_the_token_never_appears_in_output(configs, monkeypatch):
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    result, _ = recorder_run(configs, query_extra={"then": "crash"})
    assert BACKDROP_TOKEN not in result.all_output()


# -l: the query from Stagecraft --------------------------------------------------------------------


def test_collector_slug_fetches_the_query_from_stagecraft(configs):
    record_to = configs.root / "recorded.json"
    with StagecraftStandIn(token="omniscient-5ecret") as stagecraft:
        stagecraft.add_collector(
            "my-slug",
            entry_point=RECORDER,
            data_group="g",
            data_type="t",
            query={"record_to": str(record_to)},
            options=None,
        )
        backdrop = configs.backdrop(
            BACKDROP, stagecraft_url=stagecraft.url, omniscient_api_token="omniscient-5ecret"
        )
        argv = ["-l", "my-slug", "-c", str(configs.credentials()), "-t", str(configs.token()),
                "-b", str(backdrop), "--log-dir", str(configs.log_dir)]
        result = run_cli(argv)
        assert result.exit_code == 0, result.stderr
        [request] = stagecraft.requests
        assert request.path == "/collector/my-slug"
        assert request.header("Authorization") == "Bearer omniscient-5ecret"
    recorded = json.loads(record_to.read_text())
    assert recorded["options"] == {}
    assert recorded["data_set_config"]["url"] == f"{BACKDROP}/g/t"
    assert recorded["data_set_config"]["token"] == BACKDROP_TOKEN
    assert "omniscient-5ecret" not in result.all_output()
    assert "stagecraft-data-set-token" not in result.all_output()


def test_query_files_never_call_stagecraft(configs):
    record_to = configs.root / "recorded.json"
    with StagecraftStandIn(token="omniscient") as stagecraft:
        query = configs.query(RECORDER, {"record_to": str(record_to)})
        backdrop = configs.backdrop(BACKDROP, stagecraft_url=stagecraft.url, omniscient_api_token="omniscient")
        assert run_cli(configs.args(query=query, backdrop=backdrop)).exit_code == 0
        assert stagecraft.requests == []


def test_collector_slug_needs_stagecraft_settings(configs):
    argv = ["-l", "slug", "-c", str(configs.credentials()), "-t", str(configs.token()),
            "-b", str(configs.backdrop(BACKDROP)), "--log-dir", str(configs.log_dir)]
    result = run_cli(argv)
    assert result.exit_code == 2
    assert "-l needs stagecraft_url and omniscient_api_token" in single_error_line(result)


def test_unknown_collector_slug_fails_with_stagecraft_message(configs):
    with StagecraftStandIn(token="omniscient") as stagecraft:
        backdrop = configs.backdrop(BACKDROP, stagecraft_url=stagecraft.url, omniscient_api_token="omniscient")
        argv = ["-l", "nope", "-c", str(configs.credentials()), "-t", str(configs.token()),
                "-b", str(backdrop), "--log-dir", str(configs.log_dir)]
        result = run_cli(argv)
    assert result.exit_code == 1
    assert "Stagecraft answered 404: No collector with slug 'nope' found" in single_error_line(result)


def test_a_collectors_credentials_error_names_the_file(configs):
    credentials = configs.credentials({"nothing": "useful"}, name="pingdom-creds.json")
    query = configs.query("performanceplatform.collector.pingdom", {"name": "check"})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP), credentials=credentials))
    assert result.exit_code == 2
    assert f"pp-collector: error: credentials file {credentials}: " in single_error_line(result)
