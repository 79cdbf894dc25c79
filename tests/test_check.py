"""`pp-collector --check`: all problems at once, one line each, no network."""

from __future__ import annotations

from tests.support.cli import run_cli

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
