"""`pp-collector --check` for the GA entrypoints: the query, the dates and the credentials, offline.

Each collector module's `check(credentials, query, options, start_at, end_at)` returns every
problem it finds as a line of text; nothing here sends a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from performanceplatform.collector.check import problems_of


def credentials_problems(credentials: Mapping[str, Any] | None) -> list[str]:
    """Whether the credentials file names usable Google credentials (files read, nothing sent)."""
    if credentials is None:
        return []  # the CLI has already reported the file itself

    def load() -> None:
        from performanceplatform.collector.config import credentials_source
        from performanceplatform.collector.ga.auth import credentials_from_config

        credentials_from_config(credentials, source=credentials_source())

    def api_root() -> None:
        from performanceplatform.collector.ga.client import api_root_from

        api_root_from(credentials)

    return problems_of(api_root, load)
