"""Loading and checking the four files a run is given (query, credentials, token, Backdrop).

Every mistake becomes a `ConfigurationError` naming the file, the key and what was expected. The
loaded objects are never changed: what collectors receive are copies, so nothing is injected into
or mutated in the user's configs.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from performanceplatform.collector.errors import ConfigurationError

ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Backdrop's data-group and data-type names (Stagecraft's rule); nothing else may reach the push
# URL's path, where a `/` or `..` would send the bearer token elsewhere.
DATA_SET_NAME = re.compile(r"[a-z0-9_-]+", re.ASCII)
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


def load_json_file(path: str | Path, role: str) -> dict[str, Any]:
    """Read a JSON object from `path`; `role` ("query file", "token file", ...) names it in errors."""
    source = f"{role} {path}"
    try:
        # utf-8-sig: Windows editors (Notepad) save UTF-8 with a byte-order mark; it is not JSON.
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError("file does not exist", source=source) from None
    except IsADirectoryError:
        raise ConfigurationError("expected a file, found a directory", source=source) from None
    except PermissionError:
        raise ConfigurationError("file cannot be read (permission denied)", source=source) from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"file is not UTF-8 text (byte {error.start})", source=source
        ) from None
    except OSError as error:
        raise ConfigurationError(f"file cannot be read ({error.strerror})", source=source) from None
    return parse_json_object(text, source)


def parse_json_object(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            f"{_json_hint(text, error)}",
            source=source,
        ) from None
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"expected a JSON object at the top level, found {_json_type(value)}", source=source
        )
    return value


def _json_hint(text: str, error: json.JSONDecodeError) -> str:
    line = text.splitlines()[error.lineno - 1] if 0 < error.lineno <= len(text.splitlines()) else ""
    stripped = line.strip()
    if stripped.startswith(CONFLICT_MARKERS):
        return " (this looks like an unresolved git merge conflict marker)"
    if stripped.startswith(("//", "#")):
        return " (JSON does not allow comments)"
    if error.pos >= len(text.rstrip()):
        return " (the file ends before every bracket is closed)"
    if text[error.pos :].lstrip()[:1] in ("]", "}"):
        return " (a trailing comma before a closing bracket is not allowed in JSON)"
    return ""


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


@dataclass(frozen=True)
class QueryConfig:
    """A checked query file. `query` and `options` are private copies."""

    entrypoint: str
    data_group: str
    data_type: str
    query: dict[str, Any]
    options: dict[str, Any]
    source: str
    path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def parse_query_config(document: Mapping[str, Any], source: str, path: str | None = None) -> QueryConfig:
    entrypoint = document.get("entrypoint")
    if entrypoint is None:
        raise ConfigurationError(
            "missing; expected a dotted module path such as performanceplatform.collector.ga",
            source=source,
            key="entrypoint",
        )
    if not isinstance(entrypoint, str) or not ENTRYPOINT_PATTERN.match(entrypoint):
        raise ConfigurationError(
            f"expected a dotted module path such as performanceplatform.collector.ga, got {entrypoint!r}",
            source=source,
            key="entrypoint",
        )
    data_set = document.get("data-set")
    if data_set is None:
        raise ConfigurationError(
            'missing; expected {"data-group": "...", "data-type": "..."}', source=source, key="data-set"
        )
    if not isinstance(data_set, Mapping):
        raise ConfigurationError(
            f"expected an object, found {_json_type(data_set)}", source=source, key="data-set"
        )
    group = _data_set_name(data_set, "data-group", source)
    data_type = _data_set_name(data_set, "data-type", source)

    if "query" not in document:
        raise ConfigurationError("missing; expected an object", source=source, key="query")
    query = document["query"]
    if not isinstance(query, Mapping):
        raise ConfigurationError(
            f"expected an object, found {_json_type(query)}", source=source, key="query"
        )
    # Stagecraft sends null options for collectors without any; the original then crashed.
    options = document.get("options")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ConfigurationError(
            f"expected an object, found {_json_type(options)}", source=source, key="options"
        )
    options = copy.deepcopy(dict(options))

    # The seed README documents a top-level `plugins` list; the original only read options.plugins.
    if "plugins" in document:
        plugins = document["plugins"]
        if "plugins" in options:
            raise ConfigurationError(
                "plugins are given both at the top level and in options; keep one list",
                source=source,
                key="plugins",
            )
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ConfigurationError(
                "expected a list of plugin strings", source=source, key="plugins"
            )
        options["plugins"] = list(plugins)
    elif "plugins" in options:
        plugins = options["plugins"]
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ConfigurationError(
                "expected a list of plugin strings", source=source, key="options.plugins"
            )

    return QueryConfig(
        entrypoint=entrypoint,
        data_group=group,
        data_type=data_type,
        query=copy.deepcopy(dict(query)),
        options=options,
        source=source,
        path=path,
        raw=copy.deepcopy(dict(document)),
    )


def _required_string(mapping: Mapping[str, Any], key: str, source: str, shown_key: str) -> str:
    if key not in mapping:
        raise ConfigurationError("missing; expected a non-empty string", source=source, key=shown_key)
    value = mapping[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"expected a non-empty string, got {value!r}", source=source, key=shown_key
        )
    return value


# The keys of a query file (`token` names the Backdrop token file's family in Stagecraft's files;
# `plugins` is the seed README's place for them).
QUERY_FILE_KEYS = ("entrypoint", "data-set", "query", "options", "plugins", "token")


def unknown_key_problems(document: Mapping[str, Any], source: str) -> list[ConfigurationError]:
    """`--check`: a query file's keys pp-collector does not read, each with the nearest it does (a
    run ignores them, as the original did, but a misspelt `option` loses every option)."""
    problems = []
    for key in document:
        if key in QUERY_FILE_KEYS:
            continue
        import difflib  # only for a misspelt key

        nearest = difflib.get_close_matches(str(key), QUERY_FILE_KEYS, n=1)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else f"; the keys read are {', '.join(QUERY_FILE_KEYS)}"
        problems.append(ConfigurationError(f"is not a key pp-collector reads{hint}", source=source, key=str(key)))
    return problems


def _data_set_name(data_set: Mapping[str, Any], key: str, source: str) -> str:
    name = _required_string(data_set, key, source, f"data-set.{key}")
    if not DATA_SET_NAME.fullmatch(name):
        raise ConfigurationError(
            f"expected a Backdrop name of lower-case letters, digits, '-' and '_', got {name!r}",
            source=source,
            key=f"data-set.{key}",
        )
    return name


@dataclass(frozen=True)
class BackdropConfig:
    base_url: str
    stagecraft_url: str | None
    omniscient_api_token: str | None
    source: str

    def data_set_url(self, data_group: str, data_type: str) -> str:
        """`<base>/<group>/<type>`; each name is quoted whole, so none can add to or leave the path."""
        return f"{self.base_url}/{quote(data_group, safe='')}/{quote(data_type, safe='')}"


def parse_backdrop_config(document: Mapping[str, Any], source: str) -> BackdropConfig:
    # Files written before 2015-08 call the base URL `url`.
    key = "backdrop_url" if "backdrop_url" in document else "url"
    if key not in document:
        raise ConfigurationError(
            'missing; expected "backdrop_url" (or the older "url"), e.g. '
            '"https://www.performance.service.gov.uk/data"',
            source=source,
            key="backdrop_url",
        )
    base_url = document[key]
    if not isinstance(base_url, str) or not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigurationError(
            f"expected an http(s) URL, got {base_url!r}", source=source, key=key
        )
    stagecraft_url = document.get("stagecraft_url")
    omniscient = document.get("omniscient_api_token")
    return BackdropConfig(
        base_url=base_url.rstrip("/"),
        stagecraft_url=stagecraft_url.rstrip("/") if isinstance(stagecraft_url, str) else None,
        omniscient_api_token=omniscient if isinstance(omniscient, str) else None,
        source=source,
    )


def parse_token(document: Mapping[str, Any], source: str) -> str:
    if "token" not in document:
        raise ConfigurationError(
            'missing; expected {"token": "<the data set\'s Backdrop bearer token>"}',
            source=source,
            key="token",
        )
    token = document["token"]
    if not isinstance(token, str) or not token.strip():
        raise ConfigurationError("expected a non-empty string", source=source, key="token")
    if any(character.isspace() for character in token):
        raise ConfigurationError("expected a token without whitespace", source=source, key="token")
    return token


def check_date_order(start_at: datetime | None, end_at: datetime | None) -> None:
    if start_at is None or end_at is None:
        return
    try:
        reversed_order = end_at < start_at
    except TypeError:
        # One date has a time zone and the other not: compare as the collectors will (UTC).
        from performanceplatform.collector.periods import to_utc_datetime

        reversed_order = to_utc_datetime(end_at) < to_utc_datetime(start_at)
    if reversed_order:
        raise ConfigurationError(
            f"--end {end_at.isoformat()} is before --start {start_at.isoformat()}"
        )
