"""Jobs for the Celery tests: config files under the app directory, as a jobs file names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import ConfigFiles

PINGDOM = "performanceplatform.collector.pingdom"


def pingdom_job(configs: ConfigFiles, pingdom: PingdomStandIn, backdrop: BackdropStandIn, *,
                name: str = "queries/pingdom.json", check: str = "carers_allowance",
                options: dict[str, Any] | None = None, data_type: str = DATA_TYPE) -> list[str]:
    """The `pp-collector` arguments of a Pingdom job, with its four files written under `configs`."""
    query = configs.query(PINGDOM, {"name": check}, options, data_group=DATA_GROUP, data_type=data_type, name=name)
    return arguments(configs, query, backdrop, credentials=pingdom.credentials(), name="pingdom")


def arguments(configs: ConfigFiles, query: Path, backdrop: BackdropStandIn, *, credentials: dict[str, Any],
              name: str) -> list[str]:
    return [
        "-q", str(query),
        "-c", str(configs.credentials(credentials, name=f"credentials/{name}.json")),
        "-t", str(configs.token(TOKEN, name=f"tokens/{name}.json")),
        "-b", str(configs.backdrop(f"{backdrop.url}/data", name="performanceplatform.json")),
    ]
