"""`-l SLUG`: the query of a collector, fetched from Stagecraft (reference §1.3)."""

from __future__ import annotations

from typing import Any

from performanceplatform.collector.config import BackdropConfig, QueryConfig, parse_query_config
from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError
from performanceplatform.collector.http import HttpClient
from performanceplatform.collector.redaction import register_secret


def fetch_collector_query(backdrop: BackdropConfig, slug: str) -> QueryConfig:
    """GET {stagecraft_url}/collector/{slug} and turn it into a query, as the original did.

    The data set's `bearer_token` that Stagecraft returns is not used: the Backdrop token always
    comes from the -t file (as in the original).
    """
    if not backdrop.stagecraft_url or not backdrop.omniscient_api_token:
        missing = [
            key
            for key, value in (
                ("stagecraft_url", backdrop.stagecraft_url),
                ("omniscient_api_token", backdrop.omniscient_api_token),
            )
            if not value
        ]
        raise ConfigurationError(
            f"-l needs {' and '.join(missing)} in this file", source=backdrop.source
        )
    register_secret(backdrop.omniscient_api_token)
    url = f"{backdrop.stagecraft_url}/collector/{slug}"
    document = HttpClient("Stagecraft").get_json(
        url, headers={"Authorization": f"Bearer {backdrop.omniscient_api_token}", "Accept": "application/json"}
    )
    source = f"Stagecraft collector {slug!r}"
    if not isinstance(document, dict):
        raise FatalUpstreamError(f"{source}: expected a JSON object", service="Stagecraft")
    data_set = document.get("data_set") or {}
    if not isinstance(data_set, dict):
        raise FatalUpstreamError(f"{source}: expected data_set to be an object", service="Stagecraft")
    register_secret(data_set.get("bearer_token"))
    query_document: dict[str, Any] = {
        "entrypoint": document.get("entry_point"),
        "data-set": {
            "data-group": data_set.get("data_group"),
            "data-type": data_set.get("data_type"),
        },
        "query": document.get("query"),
        "options": document.get("options"),
        "token": (document.get("provider") or {}).get("slug"),
    }
    return parse_query_config(query_document, source)
