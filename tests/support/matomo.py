"""Fixtures for the Matomo stand-in (`performanceplatform.collector.standins.matomo`).

- `make_matomo`: starts stand-ins configured as a test needs (Piwik 2's flavour, GET tokens
  allowed); every one is stopped when the test ends.
- `matomo`: a running Matomo 5 stand-in with sites 1 and 9.
- `matomo_collector`: writes query and credentials files and runs `pp-collector` against `matomo`
  and the Backdrop stand-in, pushing to `DATA_GROUP`/`DATA_TYPE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.matomo import MatomoStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import CliResult, ConfigFiles, run_cli

CORE = "performanceplatform.collector.piwik.core"
REALTIME = "performanceplatform.collector.piwik.realtime"
DEVICES_QUERY = {"site_id": "1", "api_method": "DevicesDetection.getType", "frequency": "weekly"}
DEVICES_OPTIONS = {
    "mappings": {"label": "devices", "nb_visits": "sessions"},
    "idMapping": ["dataType", "_timestamp", "timeSpan", "devices"],
}


@pytest.fixture
def make_matomo() -> Iterator[Callable[..., MatomoStandIn]]:
    started: list[MatomoStandIn] = []

    def make(**kwargs: Any) -> MatomoStandIn:
        stand_in = MatomoStandIn(**kwargs)
        stand_in.start()
        started.append(stand_in)
        return stand_in

    yield make
    for stand_in in started:
        stand_in.stop()


@pytest.fixture
def matomo(make_matomo: Callable[..., MatomoStandIn]) -> MatomoStandIn:
    return make_matomo()


@dataclass
class MatomoCollector:
    """`pp-collector` runs of a Matomo entrypoint against a stand-in, into the Backdrop stand-in."""

    configs: ConfigFiles
    matomo: MatomoStandIn
    backdrop: BackdropStandIn

    def run(
        self,
        query: dict[str, Any],
        options: dict[str, Any] | None = None,
        *args: str,
        entrypoint: str = CORE,
        credentials: dict[str, Any] | None = None,
    ) -> CliResult:
        """Write the query file and run the CLI; `args` are extra flags (-s, -e, --dry-run ...)."""
        query_path = self.configs.query(entrypoint, query, options, data_group=DATA_GROUP, data_type=DATA_TYPE)
        return self.run_file(query_path, *args, credentials=credentials)

    def run_file(self, query_path: Path, *args: str, credentials: dict[str, Any] | None = None) -> CliResult:
        argv = self.configs.args(
            query=query_path,
            backdrop=self.configs.backdrop(f"{self.backdrop.url}/data"),
            credentials=self.configs.credentials(credentials or self.matomo.credentials()),
            token=self.configs.token(TOKEN),
        )
        return run_cli([*argv, *args])

    def records(self) -> list[dict[str, Any]]:
        return self.backdrop.records(DATA_GROUP, DATA_TYPE)

    def pushes(self) -> int:
        return len(self.backdrop.requests_to(f"/data/{DATA_GROUP}/{DATA_TYPE}", "POST"))


@pytest.fixture
def matomo_collector(configs: ConfigFiles, matomo: MatomoStandIn, backdrop: BackdropStandIn) -> MatomoCollector:
    return MatomoCollector(configs, matomo, backdrop)
