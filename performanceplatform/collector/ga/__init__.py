"""Google Analytics: the `ga` entrypoints, and the two Google APIs that answer them.

- Entrypoints, each written once against the source seam: `performanceplatform.collector.ga`
  itself (a report per period; its code is in `report`), `trending`, `realtime` and
  `contrib.content.table`.
- `sources`: the seam, and the one place that chooses the source from the query's id; the sources
  are `data_api` (GA4, `properties/<n>`: the main path) and `core_reporting` (Universal Analytics
  v3: the legacy source).
- Shared by both: `query` (a query file's keys), `rows` (the one row shape, typed values),
  `trends` (trending's fortnight and records), `google_account` (the account and `API_ROOT`),
  `auth`, `refreshing_credentials`, `token_endpoint` and `token_storage` (credentials),
  `bearer` (the token each request carries), `google_errors`; Universal Analytics' own:
  `google_api` (its discovery-based transport), `statsd`.

Every GA entrypoint is a module of this package, so importing it stays cheap (a realtime run every
two minutes imports it): the `ga` entrypoint's `collect`, `check`, `probe`, `notes`,
`translation` and `main` are loaded from `report` when first asked for.
"""

from __future__ import annotations

from typing import Any

_ENTRYPOINT = ("collect", "check", "probe", "notes", "translation", "main")


def __getattr__(name: str) -> Any:
    if name in _ENTRYPOINT:
        from performanceplatform.collector.ga import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
