"""The crontab generator: the original's cases (reference §11 item 5) and its fixed bugs."""

from __future__ import annotations

import codecs
import io
import subprocess
import sys

import pytest

from performanceplatform.collector.crontab import JobsFileError, generate, host_number, main
from tests.support.shared import REAL_CONFIGS, require_shared

APP = "/var/apps/pp-collector"
BEGIN = "# Begin performanceplatform.collector jobs for my-app"
END = "# End performanceplatform.collector jobs for my-app"
JOBS = [
    "# a comment",
    "",
    "0 0 * * *,queries/a/one.json,credentials/ga.json,tokens/ga.json,performanceplatform.json",
    "1 0 * * *,slug-two,credentials/ga.json,tokens/ga.json,performanceplatform.json",
    "   ",
    "2 0 * * *,queries/c/three.json,credentials/pingdom.json,tokens/pingdom.json,performanceplatform.json",
]


def run(crontab: str, jobs: list[str], hostname: str = "collector", **settings) -> str:
    return generate(crontab.splitlines(), jobs, app_path=APP, app_id="my-app", hostname=hostname, **settings)


def test_each_job_becomes_a_pp_collector_line():
    output = run("", JOBS).splitlines()
    assert output[0] == BEGIN and output[-1] == END
    assert output[1] == (
        f"0 0 * * * cd {APP} && {APP}/venv/bin/pp-collector -q {APP}/config/queries/a/one.json "
        f"-c {APP}/config/credentials/ga.json -t {APP}/config/tokens/ga.json "
        f"-b {APP}/config/performanceplatform.json >> {APP}/log/out.log 2>> {APP}/log/error.log"
    )
    assert f"pp-collector -l slug-two -c {APP}/config/credentials/ga.json" in output[2]
    assert len(output) == 5


def test_disabled_collectors_carry_the_switch():
    line = run("", JOBS, disabled=True).splitlines()[1]
    assert line.startswith(f"0 0 * * * cd {APP} && DISABLE_COLLECTORS=true {APP}/venv/bin/pp-collector")


def test_paths_with_spaces_are_quoted_for_the_shell_cron_runs():
    jobs = ["0 0 * * *,queries/my query.json,credentials/ga.json,tokens/ga.json,performanceplatform.json"]
    line = generate([], jobs, app_path="/srv/pp collector", app_id="my-app", hostname="collector").splitlines()[1]
    assert line == (
        "0 0 * * * cd '/srv/pp collector' && '/srv/pp collector/venv/bin/pp-collector' "
        "-q '/srv/pp collector/config/queries/my query.json' -c '/srv/pp collector/config/credentials/ga.json' "
        "-t '/srv/pp collector/config/tokens/ga.json' -b '/srv/pp collector/config/performanceplatform.json' "
        ">> '/srv/pp collector/log/out.log' 2>> '/srv/pp collector/log/error.log'"
    )


def test_other_blocks_are_kept_and_the_own_block_replaced():
    crontab = "\n".join([
        "MAILTO=ops@example.org",
        "# Begin performanceplatform.collector jobs for other-app",
        "5 * * * * other",
        "# End performanceplatform.collector jobs for other-app",
        BEGIN,
        "0 0 * * * stale job",
        END,
        "@reboot something",
    ])
    output = run(crontab, JOBS)
    assert "stale job" not in output
    assert "5 * * * * other" in output and "@reboot something" in output
    assert output.count(BEGIN) == 1
    # Running it again on its own output changes nothing.
    assert run(output, JOBS) == output


def test_end_before_begin_is_kept_and_begin_without_end_drops_the_rest():
    assert END in run(f"{END}\nkeep me", [])
    assert run(f"keep\n{BEGIN}\nlost\nalso lost", []) == "keep\n"


def test_no_jobs_gives_no_markers():
    assert run("a line", ["# only comments", ""]) == "a line\n"


@pytest.mark.parametrize(
    ("hostname", "hosts", "expected"),
    [
        ("collector-1", 2, ["slug-two"]),
        ("collector-2", 2, ["one.json", "three.json"]),
        ("collector-1", 3, ["three.json"]),
        ("collector-2", 3, ["slug-two"]),
        ("collector-3", 3, ["one.json"]),
        ("collector", 2, ["one.json", "slug-two", "three.json"]),
    ],
)
def test_jobs_are_shared_between_hosts(hostname, hosts, expected):
    lines = [line for line in run("", JOBS, hostname=hostname, hosts=hosts).splitlines() if "pp-collector" in line]
    assert len(lines) == len(expected)
    for line, name in zip(lines, expected, strict=True):
        assert name in line


def test_a_bad_line_on_the_other_hosts_share_does_not_matter():
    jobs = [JOBS[2], "garbage"]
    assert "one.json" in run("", jobs, hostname="collector-2")
    with pytest.raises(JobsFileError, match="line 2: expected 5 comma-separated fields"):
        run("", jobs, hostname="collector-1")


def test_host_numbers():
    assert host_number("pp-collector-12") == 12
    assert host_number("localhost") is None


def invoke(argv: list[str], crontab: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(crontab), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


CRONTAB = "MAILTO=ops\n\n# keep this blank line above\n0 1 * * * backup\n"


@pytest.mark.parametrize(
    "argv",
    [
        [APP, "/no/such/jobs-file", "my-app"],
        [APP],
        [APP, "jobs", "my-app", "--hosts", "zero"],
        [APP, "jobs", "my-app", "--hosts", "0"],
    ],
    ids=["missing-jobs-file", "usage", "bad-hosts", "zero-hosts"],
)
def test_any_error_writes_the_crontab_back_unchanged(argv, tmp_path):
    (tmp_path / "jobs").write_text("0 0 * * *,garbage\n")
    code, stdout, stderr = invoke(argv, CRONTAB)
    assert code != 0
    assert stdout == CRONTAB  # byte for byte: no doubled blank lines, nothing lost
    assert "the crontab is left unchanged" in stderr


def test_a_parse_error_writes_the_crontab_back_unchanged(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.write_text("0 0 * * *,only,three\n")
    code, stdout, stderr = invoke([APP, str(jobs), "my-app", "--hostname", "host"], CRONTAB)
    assert code == 1
    assert stdout == CRONTAB
    assert f"{jobs}: line 1: expected 5 comma-separated fields" in stderr


def test_a_jobs_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.write_bytes(codecs.BOM_UTF8 + "\n".join(JOBS).encode())
    code, stdout, stderr = invoke([APP, str(jobs), "my-app", "--hostname", "host"], "")
    assert (code, stderr) == (0, "")
    assert stdout == run("", JOBS)


def test_help_goes_to_stderr_and_leaves_the_crontab(tmp_path):
    code, stdout, stderr = invoke(["--help"], CRONTAB)
    assert code == 0
    assert stdout == CRONTAB
    assert "usage:" in stderr


def test_the_real_jobs_file_round_trips_as_a_script(tmp_path):
    jobs_file = require_shared(REAL_CONFIGS / "cronjobs")
    job_count = sum(1 for line in jobs_file.read_text().splitlines() if line and not line.startswith("#"))
    command = [sys.executable, "-m", "performanceplatform.collector.crontab", APP, str(jobs_file), "my-app",
               "--hostname", "backend"]
    first = subprocess.run(command, input=CRONTAB, capture_output=True, text=True, check=True)
    assert first.stdout.startswith(CRONTAB)
    job_lines = [line for line in first.stdout.splitlines() if "/venv/bin/pp-collector" in line]
    assert len(job_lines) == job_count == 243
    assert all(" -q " in line for line in job_lines)
    second = subprocess.run(command, input=first.stdout, capture_output=True, text=True, check=True)
    assert second.stdout == first.stdout
    shares = [
        subprocess.run([*command[:-1], f"backend-{n}"], input="", capture_output=True, text=True, check=True).stdout
        for n in (1, 2)
    ]
    assert sum(share.count("/venv/bin/pp-collector") for share in shares) == job_count
