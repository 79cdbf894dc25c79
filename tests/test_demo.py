"""`make demo`: the demo module, run as `make demo` runs it, in a fresh interpreter.

It must collect from the example configs, print what landed, finish well inside a minute, and leave
nothing running: not its stand-ins (their port is closed afterwards), not a `pp-collector` (no
process mentions its work directory), whether the collections succeed, fail or it is interrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

EXAMPLES = REPO_ROOT / "examples"


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "performanceplatform.collector.demo", *args],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **(env or {})},
    )


def stand_ins_url(output: str) -> str:
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", output)
    assert match, output
    return match.group(1)


def port_is_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def processes_mentioning(text: str) -> list[int]:
    """Ids of the processes whose command line contains `text` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if text in command_line:
            found.append(int(entry.name))
    return found


def table_rows(output: str) -> dict[str, int]:
    """`data set -> records` from the demo's summary table."""
    return {name: int(count) for name, count in re.findall(r"^  (\S+/\S+)\s+(\d+)$", output, re.MULTILINE)}


def test_the_demo_collects_from_the_examples_and_shows_what_landed(tmp_path: Path) -> None:
    result = run_demo("--workdir", str(tmp_path / "work"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    output = result.stdout
    assert table_rows(output) == {
        # GA4: four weekly periods of three device categories
        "carers-allowance/device-usage": 12,
        # Core Reporting v3: two days of two event actions and two event labels
        "carers-allowance/journey": 8,
        "carers-allowance/realtime": 1,
        # 24 hours of one Pingdom check
        "carers-allowance/monitoring": 24,
        # Matomo: four weekly periods of three device types
        "ida-verify/device-usage": 12,
    }
    # A few records of each data set, as columns, with the collected fields.
    assert "carers-allowance/device-usage: 3 of 12 record(s)" in output
    assert re.search(r"^  _timestamp +.*deviceCategory.*humanId$", output, re.MULTILINE)
    assert re.search(r"^  2024-05-06T00:00:00\+00:00 .*(desktop|mobile|tablet)", output, re.MULTILINE)
    assert re.search(r"^  _timestamp +avgresponse +uptime +downtime +unmonitored +check +_id$", output, re.MULTILINE)
    assert re.search(r"^  2024-05-06T00:00:00\+00:00 +device-usage +week +(Desktop|Smartphone|Tablet) +\d+ +"
                     r"device-usage2024-05-06 00:00:00\+00:00week", output, re.MULTILINE)
    assert "5 of 5 collections succeeded" in output
    # Each collection is shown as the command a person would type.
    assert output.count("$ pp-collector -q examples/queries/") == 5
    assert "$ pp-collector -q examples/queries/ga4-weekly-devices.json" in output
    # The stand-ins are gone, and so is every process the demo started.
    assert port_is_closed(stand_ins_url(output))
    assert processes_mentioning(str(tmp_path / "work")) == []
    # The collections were real runs: their logs are in the work directory.
    log = (tmp_path / "work" / "log" / "collector.json.log").read_text().splitlines()
    assert {json.loads(line)["@fields"]["data_group_data_type"] for line in log} >= {
        "carers-allowance/device-usage", "carers-allowance/journey", "carers-allowance/realtime",
        "carers-allowance/monitoring", "ida-verify/device-usage",
    }


def test_the_same_demo_collects_the_same_numbers(tmp_path: Path) -> None:
    # Seeded stand-ins: only the realtime record (stamped with the time of the run) may differ.
    first, second = run_demo(), run_demo()
    assert first.returncode == second.returncode == 0

    def device_rows(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.startswith("  2024-05-06")]

    assert device_rows(first.stdout) and device_rows(first.stdout) == device_rows(second.stdout)


def test_a_failed_collection_is_reported_and_the_demo_fails(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    credentials = examples / "credentials" / "pingdom-3.1.json"
    credentials.write_text(credentials.read_text().replace("example-pingdom-api-token", "not-the-token"))

    result = run_demo("--examples", str(examples), "--workdir", str(tmp_path / "work"))

    assert result.returncode == 1
    assert re.search(r"FAILED \(exit 1\) in [\d.]+ s: pp-collector: error: .*401.*", result.stdout), result.stdout
    assert "4 of 5 collections succeeded" in result.stdout
    assert table_rows(result.stdout)["carers-allowance/monitoring"] == 0
    assert table_rows(result.stdout)["carers-allowance/device-usage"] == 12
    assert port_is_closed(stand_ins_url(result.stdout))
    assert processes_mentioning(str(tmp_path / "work")) == []


def test_without_examples_the_demo_says_where_it_looked(tmp_path: Path) -> None:
    result = run_demo("--examples", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr == f"demo: error: no example config files in {tmp_path / 'nowhere'} " \
                            f"(expected {tmp_path / 'nowhere' / 'backdrop.json'})\n"


@pytest.fixture(scope="module")
def installed_without_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pp-collector as `pip install .` installs it (not editable): the package, without examples/.

    Built from a copy of the sources, offline, so the build leaves nothing in the checkout."""
    sources = tmp_path_factory.mktemp("sources")
    for name in ("pyproject.toml", "setup.py", "README.rst"):
        shutil.copy(REPO_ROOT / name, sources / name)
    shutil.copytree(REPO_ROOT / "performanceplatform", sources / "performanceplatform",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(sources)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return target


def run_installed_demo(site_packages: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -P: the working directory stays off sys.path, so the installed copy is the one that runs.
    return subprocess.run(
        [sys.executable, "-P", "-m", "performanceplatform.collector.demo", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(site_packages)},
    )


def test_installed_without_a_checkout_the_demo_says_to_pass_examples(
    installed_without_checkout: Path, tmp_path: Path
) -> None:
    result = run_installed_demo(installed_without_checkout, tmp_path)

    assert result.returncode == 1
    assert result.stderr == (
        f"demo: error: no example config files: this pp-collector was installed without them (not in "
        f"{installed_without_checkout / 'examples'}, nor in ./examples); run the demo from the top of a checkout "
        "of the repository, or pass --examples DIR (a checkout's examples/ directory)\n"
    )


def test_installed_without_a_checkout_the_demo_uses_the_examples_of_the_directory_it_runs_in(
    installed_without_checkout: Path, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")

    result = run_installed_demo(installed_without_checkout, tmp_path, "--workdir", str(tmp_path / "work"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Example files from {tmp_path / 'examples'}, copied to" in result.stdout
    assert sum(table_rows(result.stdout).values()) > 0


def test_the_installed_copy_is_the_one_those_tests_run(installed_without_checkout: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-P", "-c", "import performanceplatform.collector.demo as demo; print(demo.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed_without_checkout)},
    )
    assert where.stdout.strip() == str(installed_without_checkout / "performanceplatform" / "collector" / "demo.py")


@pytest.fixture
def silent_backdrop() -> Iterator[socket.socket]:
    """A Backdrop that accepts connections and never answers: a push there hangs. The test accepts
    the push's connection itself, so it knows when a collector is pushing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(60)  # a hang guard: the demo connects within seconds
    try:
        yield listener
    finally:
        listener.close()


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_demo_stops_every_process_it_started(
    tmp_path: Path, silent_backdrop: socket.socket, signal_number: int, exit_code: int
) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    backdrop_url = f"http://127.0.0.1:{silent_backdrop.getsockname()[1]}/data"
    (examples / "backdrop.json").write_text(json.dumps({"backdrop_url": backdrop_url}))
    work = tmp_path / "work"
    demo = subprocess.Popen(
        [sys.executable, "-m", "performanceplatform.collector.demo", "--examples", str(examples),
         "--workdir", str(work)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # The push would wait this long for the silent Backdrop: the test interrupts it first.
        env={**os.environ, "PP_COLLECTOR_READ_TIMEOUT": "60"},
    )
    try:
        assert demo.stdout is not None
        first_line = demo.stdout.readline()
        # A pp-collector of the demo's is pushing (and hangs, the Backdrop being silent).
        push, _ = silent_backdrop.accept()
        assert [pid for pid in processes_mentioning(str(work)) if pid != demo.pid], "no pp-collector process"
        demo.send_signal(signal_number)
        stdout, stderr = demo.communicate(timeout=60)
        push.close()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()

    assert demo.returncode == exit_code, stdout + stderr
    assert "every process it started has been stopped" in stderr
    assert processes_mentioning(str(work)) == []
    assert port_is_closed(stand_ins_url(first_line))
