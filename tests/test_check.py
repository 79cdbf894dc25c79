"""`pp-collector --check`: all problems at once, one line each, no network."""

from __future__ import annotations

import pytest

from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import run_cli
from tests.support.google import GaCollector, GaSourceRuns

RECORDER = "tests.collectors.recorder"
BACKDROP = "http://127.0.0.1:9/data"


def check(configs, query, **files):
    argv = [
        "--check", "-q", str(query),
        "-c", str(files.get("credentials") or configs.credentials()),
        "-t", str(files.get("token") or configs.token()),
        "-b", str(files.get("backdrop") or configs.backdrop(BACKDROP)),
    ]
    return run_cli([*argv, *files.get("extra", [])])


def problems(result) -> list[str]:
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("pp-collector: check: ") for line in lines), lines
    return [line.removeprefix("pp-collector: check: ") for line in lines]


def test_good_files_pass(configs):
    query = configs.query(RECORDER, {"record_to": "unused"}, {"plugins": ["Comment('x')"]})
    result = check(configs, query)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.strip() == f"{query}: OK"
    assert not (configs.root / "unused").exists()


def test_every_problem_is_reported_one_per_line(configs):
    query = configs.query(RECORDER, {}, {"plugins": ["__import__('os').system('touch pwned')"]})
    result = check(
        configs,
        query,
        token=configs.write("token.json", {"tok": "x"}),
        backdrop=configs.write("backdrop.json", {"backdrop_url": "nowhere"}),
        extra=["-s", "2014-02-01", "-e", "2014-01-01"],
    )
    assert result.exit_code == 2
    found = problems(result)
    assert len(found) == 4
    assert any("backdrop.json: key 'backdrop_url': expected an http(s) URL" in p for p in found)
    assert any("token.json: key 'token': missing" in p for p in found)
    assert any("--end 2014-01-01T00:00:00 is before --start" in p for p in found)
    assert any("__import__('os').system('touch pwned')" in p for p in found)
    assert not (configs.root / "pwned").exists()


def test_an_unknown_entrypoint_is_a_problem(configs):
    query = configs.query("performanceplatform.collector.webtrends.reports", {})
    assert "no module named 'performanceplatform.collector.webtrends.reports'" in problems(check(configs, query))[0]


def test_check_does_not_fetch_from_stagecraft(configs):
    argv = ["--check", "-l", "slug", "-c", str(configs.credentials()), "-t", str(configs.token()),
            "-b", str(configs.backdrop(BACKDROP))]
    result = run_cli(argv)
    assert result.exit_code == 2
    assert "--check reads a query file (-q)" in result.stderr


# --check finds what the run finds, in the same words ------------------------------------------------


@pytest.mark.parametrize(
    ("entrypoint", "query", "options", "problem"),
    [
        ("ga", {"metrics": ["sessions"]}, {"chunk-size": 0}, "key 'options.chunk-size': expected a positive whole"),
        ("ga", {"metrics": ["sessions"]}, {"additionalFields": ["x"]}, "key 'options.additionalFields': expected"),
        ("ga", {"metrics": ["sessions"]}, {"plugins": ["Nope()"]}, "key 'options.plugins': plugin 'Nope()'"),
        ("ga", {"metrics": ["sessions"]}, {"empty-data-set": "yes"}, "key 'options.empty-data-set': expected true"),
        ("ga", {"metrics": ["sessions"]}, {"idMapping": []}, "key 'options.idMapping': is empty"),
        ("ga", {}, {}, "key 'query.metrics': expected at least one name"),
        ("ga", {"metrics": ["sessions"], "frequency": "hourly"}, {}, "key 'query.frequency': expected one of"),
        ("ga.trending", {"metric": "pageviews"}, {}, "key 'query.dimensions': expected a list including"),
        ("ga.contrib.content.table", {"metrics": ["sessions"]}, {"filtersets": "x"},
         "key 'options.filtersets': expected a list of filter lists"),
    ],
)
def test_what_the_run_refuses_check_refuses_in_the_same_words(
    ga_source: GaSourceRuns, entrypoint: str, query: dict, options: dict, problem: str
) -> None:
    configs = ga_source.collector.configs
    path = configs.query(f"performanceplatform.collector.{entrypoint}", ga_source.query(**query), options)
    argv = configs.args(query=path, backdrop=configs.backdrop(f"{ga_source.collector.backdrop.url}/data"),
                        credentials=ga_source.collector.credentials_path, token=configs.token())

    ran = run_cli([*argv, "-s", "2024-06-03", "-e", "2024-06-09"])
    checked = run_cli([*argv, "-s", "2024-06-03", "-e", "2024-06-09", "--check"])

    assert ran.exit_code == checked.exit_code == 2
    (line,) = ran.stderr.splitlines()
    refused = line.removeprefix("pp-collector: error: ")
    assert refused.startswith(f"query file {path}: ") and problem in refused
    assert refused in problems(checked)
    assert ga_source.stand_in.requests == []


@pytest.mark.parametrize(
    ("entrypoint", "key", "value", "says"),
    [
        ("ga", "id", "G-ABC123XYZ", "is a GA4 measurement id"),
        ("ga", "id", "ga:abc", "expected a GA4 property such as 'properties/123456789'"),
        ("ga", "id", "properties/G-ABC123", "not a 'G-' measurement id"),
        ("ga.realtime", "ids", "ga:abc", "expected the Real Time API's view, such as 'ga:12345678'"),
        ("ga.realtime", "ids", "G-ABC123XYZ", "that is a GA4 measurement id"),
    ],
)
def test_an_id_google_would_refuse_is_refused_by_check_and_the_run_naming_the_file(
    ga_collector: GaCollector, entrypoint: str, key: str, value: str, says: str
) -> None:
    configs = ga_collector.configs
    query = {key: value, "metrics": ["sessions"] if key == "id" else "rt:activeUsers"}
    path = configs.query(f"performanceplatform.collector.{entrypoint}", query, {})
    argv = configs.args(query=path, backdrop=configs.backdrop(f"{ga_collector.backdrop.url}/data"),
                        credentials=ga_collector.credentials_path, token=configs.token())

    ran, checked = run_cli(argv), run_cli([*argv, "--check"])

    assert ran.exit_code == checked.exit_code == 2
    (line,) = ran.stderr.splitlines()
    refused = line.removeprefix("pp-collector: error: ")
    assert refused.startswith(f"query file {path}: key 'query.{key}': ") and says in refused
    assert refused in problems(checked)
    assert ga_collector.ga.requests == []


# --check --online --------------------------------------------------------------------------------


def test_online_proves_the_credentials_and_backdrop_without_writing_a_record(ga_source: GaSourceRuns) -> None:
    configs, backdrop = ga_source.collector.configs, ga_source.collector.backdrop
    ga_source.add_rows(("browser", "visitors"), [("Chrome", 5)])
    query = ga_source.query(metrics=["visitors"], dimensions=["browser"])
    path = configs.query("performanceplatform.collector.ga", query, data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=path, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=ga_source.collector.credentials_path, token=configs.token(TOKEN))

    result = run_cli([*argv, "--check", "--online"])

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith(f"{path}: OK (the ")
    assert f"Backdrop {DATA_GROUP}/{DATA_TYPE} answered 200 with the token)" in result.stdout
    (request,) = ga_source.report_requests()  # one small request, with a token
    assert request.header("Authorization").startswith("Bearer ")
    ((posted),) = [r.body for r in backdrop.requests_to(f"/data/{DATA_GROUP}/{DATA_TYPE}", "POST")]
    assert posted == b"[]" and backdrop.records(DATA_GROUP, DATA_TYPE) == []


@pytest.mark.parametrize(
    ("data_set", "token", "says"),
    [
        ("test-group/no-such-type", TOKEN, "Backdrop answered 404: Could not find data_set_config"),
        (f"{DATA_GROUP}/{DATA_TYPE}", "the-wrong-token", "Backdrop answered 401"),
    ],
)
def test_online_finds_a_wrong_backdrop_url_or_token_before_any_run(
    ga_collector: GaCollector, data_set: str, token: str, says: str
) -> None:
    configs = ga_collector.configs
    group, data_type = data_set.split("/")
    path = configs.query("performanceplatform.collector.ga", {"id": "ga:1", "metrics": ["visitors"]},
                         data_group=group, data_type=data_type)
    argv = configs.args(query=path, backdrop=configs.backdrop(f"{ga_collector.backdrop.url}/data"),
                        credentials=ga_collector.credentials_path, token=configs.token(token))

    result = run_cli([*argv, "--check", "--online"])

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("pp-collector: check: online: ") and says in line
    assert "the-wrong-token" not in result.stderr + result.stdout
    assert ga_collector.backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_online_finds_credentials_the_source_refuses(configs, backdrop, pingdom) -> None:
    credentials = {**pingdom.credentials("2.0"), "password": "not-the-password"}
    path = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                         data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=path, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(credentials), token=configs.token(TOKEN))

    result = run_cli([*argv, "--check", "--online"])

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("pp-collector: check: online: ") and "401" in line
    assert "not-the-password" not in result.stderr + result.stdout
    # Without --online nothing is asked of anyone.
    requests_so_far = len(pingdom.requests)
    assert run_cli([*argv, "--check"]).exit_code == 0
    assert len(pingdom.requests) == requests_so_far


def test_online_without_check_is_a_usage_error(configs) -> None:
    result = run_cli(["--online", "-q", "q.json", "-c", "c.json", "-t", "t.json", "-b", "b.json"])
    assert result.exit_code == 2
    assert "--online goes with --check" in result.stderr


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("option", "did you mean 'options'?"),
        ("entry_point", "did you mean 'entrypoint'?"),
        ("data_set", "did you mean 'data-set'?"),
        ("colour", "the keys read are entrypoint, data-set, query, options, plugins, token"),
    ],
)
def test_check_names_a_key_pp_collector_does_not_read_and_the_run_ignores_it(configs, key: str, hint: str) -> None:
    record_to = configs.root / "recorded.json"
    query = configs.query(RECORDER, {"record_to": str(record_to)}, **{key: {"chunk-size": 5}})

    checked = check(configs, query)
    ran = run_cli(configs.args(query=query, backdrop=configs.backdrop(BACKDROP)))

    assert checked.exit_code == 2
    assert problems(checked) == [f"query file {query}: key {key!r}: is not a key pp-collector reads; {hint}"]
    assert ran.exit_code == 0, ran.stderr  # as the original did, the run goes on without it
    assert record_to.exists()


def test_a_content_table_without_a_department_table_is_said_by_check_and_warned_by_the_run(
    ga_collector: GaCollector,
) -> None:
    ga_collector.ga.add_core_rows([["News A", "30"]])
    query = {"id": "ga:1", "metrics": ["pageviews"], "dimensions": ["pageTitle"]}
    options = {"filtersets": [["dimension9=~^<D1>"], ["dimension9=~^<D2>"]]}
    path = ga_collector.configs.query("performanceplatform.collector.ga.contrib.content.table", query, options,
                                      data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = ga_collector.configs.args(
        query=path, backdrop=ga_collector.configs.backdrop(f"{ga_collector.backdrop.url}/data"),
        credentials=ga_collector.credentials_path, token=ga_collector.configs.token(TOKEN),
    )

    checked = run_cli([*argv, "--check", "-s", "2014-10-13", "-e", "2014-10-19"])
    ran = run_cli([*argv, "-s", "2014-10-13", "-e", "2014-10-19"])

    said = ("no department table was given (--department-codes or PP_COLLECTOR_DEPARTMENT_CODES), so the "
            "departments <D1>, <D2> would be pushed as the codes themselves")
    assert checked.exit_code == 2
    assert problems(checked) == [f"query file {path}: key 'options.filtersets': {said}"]
    assert ran.exit_code == 0, ran.stderr
    assert [line for line in ran.text_log().splitlines() if "[WARNING]" in line and said in line] != []
    (post,) = ga_collector.backdrop.requests_to(f"/data/{DATA_GROUP}/{DATA_TYPE}", "POST")
    assert [record["department"] for record in post.json()] == ["<D1>", "<D2>"]
    with_table = run_cli([*argv, "--check", "-s", "2014-10-13", "-e", "2014-10-19",
                          "--department-codes", str(ga_collector.configs.department_codes())])
    assert (with_table.exit_code, with_table.stderr) == (0, "")
