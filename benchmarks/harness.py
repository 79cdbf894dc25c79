"""The benchmarks' set-up: the stand-ins on 127.0.0.1, the config files, and timed `pp-collector` runs.

Every run is the installed `pp-collector` in a process of its own, as cron runs it, so that its
wall time, its start-up and its peak memory (`ru_maxrss`, read with `os.wait4`) are its own and
not the harness's. The stand-ins run in this process; each request they receive carries the
monotonic time it arrived, on the same clock the harness starts processes by.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.google_analytics_data import ANALYTICS_360, GoogleAnalyticsDataStandIn
from performanceplatform.collector.standins.google_oauth import ANALYTICS_READONLY as SCOPE
from performanceplatform.collector.standins.google_oauth import GoogleOAuthStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from performanceplatform.collector.standins.server import StandIn

DATA_GROUP = "benchmark"
DATA_TYPE = "records"
TOKEN = "benchmark-backdrop-token"  # noqa: S105 - the stand-in's, not a secret
SERVICE_ACCOUNT = "pp-collector-benchmark@stand-in-project.iam.gserviceaccount.com"
PROPERTY = "properties/123456789"
PINGDOM_CHECK = "benchmark check"


@dataclass
class Run:
    """One `pp-collector` process: how long it took, its peak memory, when it first asked upstream."""

    exit_code: int
    started: float  # time.monotonic() just before the process was started
    wall: float
    cpu: float  # user + system seconds of the process (all its threads)
    max_rss_kib: int
    stderr: str
    first_request: float | None  # seconds from start to the first request any upstream stand-in got

    def check(self) -> Run:
        if self.exit_code != 0:
            raise RuntimeError(f"pp-collector exited {self.exit_code}: {self.stderr.strip()[-2000:]}")
        return self


@dataclass
class StandIns:
    oauth: GoogleOAuthStandIn
    ga4: GoogleAnalyticsDataStandIn
    pingdom: PingdomStandIn
    backdrop: BackdropStandIn
    workdir: Path

    @property
    def upstream(self) -> tuple[StandIn, ...]:
        return (self.oauth, self.ga4, self.pingdom)

    def reset(self, *, ga4_latency: float = 0.0, backdrop_latency: float = 0.0) -> None:
        """Forget every request, and what Backdrop holds; set the GA4 and Backdrop latencies."""
        for stand_in in (*self.upstream, self.backdrop):
            with stand_in._lock:
                stand_in.requests.clear()
        self.backdrop.reset()
        self.backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
        self.backdrop.latency = backdrop_latency
        self.ga4.latency = ga4_latency
        self.ga4.max_in_flight = 0

    def query_file(self, name: str, entrypoint: str, query: Mapping[str, Any], options: Mapping[str, Any]) -> Path:
        document = {
            "entrypoint": entrypoint,
            "data-set": {"data-group": DATA_GROUP, "data-type": DATA_TYPE},
            "query": dict(query),
            "options": dict(options),
        }
        return _write(self.workdir / f"query-{name}.json", document)

    def run(self, query: Path, credentials: str, *flags: str, env: Mapping[str, str] | None = None) -> Run:
        """`pp-collector -q QUERY ...`, waited for; its figures."""
        argv = [
            _pp_collector(), "-q", str(query), "-c", str(self.workdir / credentials),
            "-t", str(self.workdir / "token.json"), "-b", str(self.workdir / "backdrop.json"),
            "--log-dir", str(self.workdir / "log"), *flags,
        ]
        return timed(argv, self.upstream, cwd=self.workdir, env=env)


def timed(
    argv: list[str],
    upstream: tuple[StandIn, ...] = (),
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run `argv`; its wall time, peak RSS and the time to the first request `upstream` received."""
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd, env={**os.environ, **(env or {})}
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        text = stderr.read().decode("utf-8", "replace")
    arrivals = [r.received_at for stand_in in upstream for r in list(stand_in.requests) if r.received_at >= started]
    return Run(
        exit_code=process.returncode,
        started=started,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,  # KiB on Linux
        stderr=text,
        first_request=min(arrivals) - started if arrivals else None,
    )


def byte_compile_the_project() -> None:
    """Compile the project's modules once, as installing a wheel does: an editable install run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile them from source in every timed process."""
    import compileall

    import performanceplatform

    for directory in performanceplatform.__path__:
        compileall.compile_dir(directory, quiet=1)


@contextmanager
def stand_ins() -> Iterator[StandIns]:
    """Every stand-in running, with a user's stored tokens and a service account, a property, a
    Pingdom check and the files."""
    byte_compile_the_project()
    with tempfile.TemporaryDirectory(prefix="pp-collector-bench-") as directory:
        workdir = Path(directory)
        oauth = GoogleOAuthStandIn()
        ga4 = GoogleAnalyticsDataStandIn()  # any bearer token: the OAuth stand-in issues real ones
        # The benchmarks spend some 30,000 tokens within the hour, more than a standard property's
        # 14,000 per project per hour: a property backfilled like this is an Analytics 360 one.
        ga4.set_quota_limits(PROPERTY, ANALYTICS_360)
        pingdom = PingdomStandIn([PINGDOM_CHECK])
        backdrop = BackdropStandIn()
        started: list[StandIn] = []
        try:
            for stand_in in (oauth, ga4, pingdom, backdrop):
                stand_in.start()
                started.append(stand_in)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            oauth.add_service_account(
                SERVICE_ACCOUNT,
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
            _write_files(workdir, key, oauth, ga4, pingdom, backdrop)
            both = StandIns(oauth, ga4, pingdom, backdrop, workdir)
            both.reset()
            yield both
        finally:
            for stand_in in started:
                stand_in.stop()


def _write_files(
    workdir: Path,
    key: rsa.RSAPrivateKey,
    oauth: GoogleOAuthStandIn,
    ga4: GoogleAnalyticsDataStandIn,
    pingdom: PingdomStandIn,
    backdrop: BackdropStandIn,
) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_path = _write(workdir / "service-account.json", {
        "type": "service_account", "project_id": "stand-in-project", "private_key_id": "0" * 40,
        "private_key": pem, "client_email": SERVICE_ACCOUNT, "client_id": "1", "token_uri": oauth.token_url,
    })
    # Production's GA credentials (every GA job in the real jobs file): a user's OAuth tokens,
    # stored by the run before in oauth2client's format, the access token valid for the hour.
    client = oauth.add_client()
    client_secrets = _write(workdir / "client_secrets.json", oauth.client_secrets(client))
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    storage = _write(workdir / "storage.db", {
        "_class": "OAuth2Credentials", "_module": "oauth2client.client",
        "access_token": oauth.issue_access_token(lifetime=3600), "client_id": client.client_id,
        "client_secret": client.client_secret, "refresh_token": oauth.add_refresh_token(client),
        "scopes": [SCOPE], "token_expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "token_uri": oauth.token_url,
        "invalid": False, "id_token": None, "revoke_uri": None, "token_info_uri": None, "user_agent": None,
        "token_response": None,
    })
    _write(workdir / "ga.json", {
        "CLIENT_SECRETS": str(client_secrets), "STORAGE_PATH": str(storage), "API_ROOT": f"{ga4.url}/"
    })
    # A service account instead: every run signs a JWT and asks for a token first.
    _write(workdir / "ga-service-account.json", {"SERVICE_ACCOUNT_KEY": str(key_path), "API_ROOT": f"{ga4.url}/"})
    _write(workdir / "pingdom.json", pingdom.credentials("3.1"))
    _write(workdir / "token.json", {"token": TOKEN})
    _write(workdir / "backdrop.json", {"backdrop_url": f"{backdrop.url}/data"})


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=2))
    os.chmod(path, 0o600)
    return path


def _pp_collector() -> str:
    """The console script cron runs, beside this interpreter (as `make bench` installs it)."""
    script = Path(sys.executable).parent / "pp-collector"
    if not script.exists():
        raise SystemExit(f"{script} is not there: install the project first (make bench does)")
    return str(script)
