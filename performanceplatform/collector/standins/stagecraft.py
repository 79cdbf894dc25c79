"""Stand-in for Stagecraft's `GET /collector/<slug>`, which `pp-collector -l SLUG` reads."""

from __future__ import annotations

from typing import Any

from performanceplatform.collector.standins.server import RecordedRequest, Response, StandIn, route


class StagecraftStandIn(StandIn):
    name = "stagecraft"

    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.token = token
        self.collectors: dict[str, dict[str, Any]] = {}

    def add_collector(
        self,
        slug: str,
        *,
        entry_point: str,
        data_group: str,
        data_type: str,
        query: dict[str, Any],
        options: dict[str, Any] | None,
        provider: str = "provider",
        bearer_token: str = "stagecraft-data-set-token",  # noqa: S107 (a stand-in value)
    ) -> None:
        self.collectors[slug] = {
            "slug": slug,
            "entry_point": entry_point,
            "query": query,
            "options": options,
            "provider": {"slug": provider},
            "data_set": {"data_group": data_group, "data_type": data_type, "bearer_token": bearer_token},
        }

    @route("GET", r"/collector/(?P<slug>[^/]+)")
    def collector(self, request: RecordedRequest, slug: str) -> Response:
        if request.header("Authorization") != f"Bearer {self.token}":
            return Response(403, {"status": "error", "message": "Forbidden"})
        if slug not in self.collectors:
            return Response(404, {"status": "error", "message": f"No collector with slug '{slug}' found"})
        return Response(200, self.collectors[slug])
