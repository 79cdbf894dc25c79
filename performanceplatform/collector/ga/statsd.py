"""A tiny statsd counter: one UDP datagram per increment, and never a reason for a run to fail.

The original counted every Core Reporting request (each page) as `ga.core.<ids>.count` under the
prefix `GOVUK_STATSD_PREFIX`, so Google's daily quota could be watched per view. A datagram that
cannot be sent (no statsd, a bad host name) is logged at debug level and forgotten.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

PREFIX_VARIABLE = "GOVUK_STATSD_PREFIX"
HOST_VARIABLE = "STATSD_HOST"
PORT_VARIABLE = "STATSD_PORT"
DEFAULT_PREFIX = "pp.apps.collector"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8125


@dataclass(frozen=True)
class StatsdCounter:
    prefix: str = DEFAULT_PREFIX
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> StatsdCounter | None:
        """The counter the environment describes, or None (with a warning) if it names a bad port."""
        environ = os.environ if environ is None else environ
        raw_port = environ.get(PORT_VARIABLE) or str(DEFAULT_PORT)
        try:
            port = int(raw_port)
            if not 0 < port < 65536:
                raise ValueError(raw_port)
        except ValueError:
            log.warning("%s=%r is not a port number; statsd counters are off", PORT_VARIABLE, raw_port)
            return None
        return cls(
            prefix=environ.get(PREFIX_VARIABLE) or DEFAULT_PREFIX,
            host=environ.get(HOST_VARIABLE) or DEFAULT_HOST,
            port=port,
        )

    def incr(self, name: str) -> None:
        datagram = f"{self.prefix}.{name}:1|c".encode()
        try:
            family, kind, protocol, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_DGRAM
            )[0]
            with socket.socket(family, kind, protocol) as sender:
                sender.sendto(datagram, address)
        except OSError as error:
            log.debug("statsd %s:%d unreachable (%s); counter %s not sent", self.host, self.port, error, name)


def core_request_counter_name(ids: str) -> str:
    """`ga:12345` → `ga.core.ga12345.count`, the original's name for one Core Reporting request."""
    return f"ga.core.{ids.replace(':', '')}.count"
