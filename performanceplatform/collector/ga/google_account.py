"""Which Google account a GA run uses, and under which root it reaches Google's APIs.

Both GA sources read the credentials file the same way: its Google credentials (`auth`, read
only when a run opens its client) and an optional `API_ROOT` that replaces Google's root URL, so
that tests and the demo can point the collector at stand-ins. Nothing heavy is imported here:
`--check` and the GA4 client use it without google-api-python-client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import ConfigurationError, problems_of
from performanceplatform.collector.http import require_secure_transport

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

DEFAULT_API_ROOT = "https://www.googleapis.com/"
API_ROOT_KEY = "API_ROOT"


def api_root_from(context: RunContext, default: str = DEFAULT_API_ROOT) -> str:
    """The root URL the Google APIs are reached under (`API_ROOT`, else `default`), ending in `/`."""
    root = context.credentials.get(API_ROOT_KEY) or default
    if not isinstance(root, str):
        raise ConfigurationError(
            f"expected a URL such as {default!r}, got {root!r}",
            source=context.credentials_source,
            key=API_ROOT_KEY,
        )
    root = root if root.endswith("/") else root + "/"
    require_secure_transport(root, "the Google access token")
    return root


def google_credentials(context: RunContext) -> Credentials:
    """The google-auth credentials the credentials file describes (files read, nothing sent)."""
    from performanceplatform.collector.ga.auth import credentials_from_config

    return credentials_from_config(
        context.credentials, source=context.credentials_source, credentials_path=context.credentials_path
    )


def credentials_problems(context: RunContext) -> list[str]:
    """`--check`: whether the credentials file names usable Google credentials (nothing sent)."""
    if not context.credentials_loaded:
        return []  # the file itself has been reported
    return problems_of(lambda: api_root_from(context), lambda: google_credentials(context))
