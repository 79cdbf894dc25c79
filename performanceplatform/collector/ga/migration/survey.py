"""A directory of query files under a GA4 migration file: what each would do, and what the file needs.

`survey` reads every Google Analytics query file under a directory (other entrypoints are left
out) the way a run reads it (`config`, `options`, the migration file with the query's
`options.ga4` over it) and asks its entrypoint's own `translation(context)`, the function
`--check` and the run use, what it becomes: a GA4 query that collects exactly, one that collects
with named approximations, one that is refused (every reason, each naming the file and key), or
one that stays on Universal Analytics (its view is not in the migration file). Nothing is sent
anywhere: the names a migration maps are checked against the property when the query first runs.

It also notes what each file uses that only the operator can map (goal numbers, event fields,
UA custom dimensions, realtime page-path filters), and which approximations each would need, by
translating it once more as if everything were mapped and accepted; `template` turns that into a
migration file to fill in, keeping whatever the current one says.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from performanceplatform.collector import config as config_files
from performanceplatform.collector.context import DataSetTarget, RunContext
from performanceplatform.collector.departments import NO_DEPARTMENTS
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api import DataApiSource
from performanceplatform.collector.ga.data_api.filters import AND, OR, TERM, split_unescaped
from performanceplatform.collector.ga.migration.approximations import APPROXIMATIONS
from performanceplatform.collector.ga.migration.map_file import (
    MAPPABLE_DIMENSION,
    MAPPABLE_METRIC,
    Ga4Map,
    Goal,
    Mapped,
    Origin,
    Settings,
    View,
    view_key_of,
)
from performanceplatform.collector.ga.migration.names import GOAL, SEGMENT
from performanceplatform.collector.ga.sources import PROPERTY_PREFIX, is_property_id
from performanceplatform.collector.options import parse_options

PREFIX = "performanceplatform.collector."
# The GA entrypoints, and the query key each keeps its view (or property) id under.
ID_KEYS = MappingProxyType({
    PREFIX + "ga": "id",
    PREFIX + "ga.trending": "id",
    PREFIX + "ga.realtime": "ids",
    PREFIX + "ga.contrib.content.table": "id",
})
REALTIME = PREFIX + "ga.realtime"
PAGE_PATHS = frozenset({"pagePath", "pagePathPlusQueryString", "landingPagePath"})

EXACT = "collects exactly"
APPROXIMATE = "collects with approximations"
REFUSED = "refused"
UNIVERSAL = "stays on Universal Analytics"
OUTCOMES = (EXACT, APPROXIMATE, REFUSED, UNIVERSAL)


@dataclass
class Uses:
    """What a query uses that only the operator can map to GA4."""

    goals: dict[str, set[str]] = field(default_factory=dict)  # goal number → Completions, Starts, ...
    fields: set[str] = field(default_factory=set)
    realtime_filters: set[str] = field(default_factory=set)

    def add(self, other: Uses) -> None:
        for number, parts in other.goals.items():
            self.goals.setdefault(number, set()).update(parts)
        self.fields |= other.fields
        self.realtime_filters |= other.realtime_filters


@dataclass(frozen=True)
class FileOutcome:
    """One query file: what it becomes under the migration file, and what it uses."""

    path: str
    entrypoint: str
    query_id: Any
    outcome: str
    approximations: tuple[str, ...] = ()
    problems: tuple[ConfigurationError, ...] = ()
    uses: Uses = field(default_factory=Uses)
    # The approximations it would need with everything mapped (for the template).
    needs: tuple[str, ...] = ()

    @property
    def view(self) -> str | None:
        """`ga:<digits>` for a UA view id, None for anything else (a property)."""
        key = view_key_of(self.query_id)
        return f"ga:{key}" if key is not None else None

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(problem.reason or problem.detail for problem in self.problems))


def survey(
    directory: Path, ga4_map: Ga4Map, *, departments: Mapping[str, str] = NO_DEPARTMENTS
) -> list[FileOutcome]:
    """Every GA query file under `directory`, sorted by path, as it would run under `ga4_map`."""
    files = [(path, document) for path in sorted(directory.rglob("*.json")) if (document := _ga_document(path))]
    uses = {path: uses_of(document) for path, document in files}
    everything = permissive_map(uses_by_id((document, uses[path]) for path, document in files))
    outcomes = []
    for path, document in files:
        name = path.relative_to(directory).as_posix()
        outcome = _outcome(name, path, document, ga4_map, departments)
        would_need = _outcome(name, path, document, everything, departments)
        outcomes.append(FileOutcome(
            outcome.path, outcome.entrypoint, outcome.query_id, outcome.outcome, outcome.approximations,
            outcome.problems, uses[path], would_need.approximations,
        ))
    return outcomes


def _ga_document(path: Path) -> dict[str, Any] | None:
    """The file's JSON when it is a GA query file (an unreadable .json counts, to be reported)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {"entrypoint": PREFIX + "ga", "_unreadable": True}
    if isinstance(document, dict) and document.get("entrypoint") in ID_KEYS:
        return document
    return None


def _outcome(
    name: str, path: Path, document: Mapping[str, Any], ga4_map: Ga4Map, departments: Mapping[str, str]
) -> FileOutcome:
    entrypoint = str(document.get("entrypoint"))
    query_id = document.get("query", {}).get(ID_KEYS[entrypoint]) if isinstance(document.get("query"), dict) else None
    source = f"query file {path}"
    try:
        context = _context(path, source, ga4_map, departments)
    except ConfigurationError as error:
        return FileOutcome(name, entrypoint, query_id, REFUSED, problems=(error,))
    translation = importlib.import_module(context.entrypoint).translation(context)
    if not isinstance(translation.source, DataApiSource):
        return FileOutcome(name, entrypoint, query_id, UNIVERSAL)
    if translation.problems:
        return FileOutcome(name, entrypoint, query_id, REFUSED, problems=translation.problems)
    approximations = translation.approximations
    return FileOutcome(name, entrypoint, query_id, APPROXIMATE if approximations else EXACT, approximations)


def _context(path: Path, source: str, ga4_map: Ga4Map, departments: Mapping[str, str]) -> RunContext:
    """The run context a run of the file would have, but for credentials, token and Backdrop."""
    query = config_files.parse_query_config(config_files.load_json_file(path, "query file"), source, path=str(path))
    options = parse_options(query.options, source=source, departments=departments)
    return RunContext(
        entrypoint=query.entrypoint,
        query=MappingProxyType(query.query),
        options=options,
        credentials=MappingProxyType({}),
        credentials_loaded=False,
        data_set=DataSetTarget(url="", token=None, data_group=query.data_group, data_type=query.data_type),
        department_codes=departments,
        query_source=source,
        query_path=str(path),
        ga4_map=ga4_map.with_query_settings(query.options.get("ga4"), source=source),
    )


# What a file uses ---------------------------------------------------------------------------------


def uses_of(document: Mapping[str, Any]) -> Uses:
    """The goals, mappable fields and realtime page-path filters a query file names."""
    query = document.get("query") if isinstance(document.get("query"), Mapping) else {}
    options = document.get("options") if isinstance(document.get("options"), Mapping) else {}
    uses = Uses()
    names: list[str] = []
    for key in ("metrics", "metric", "dimensions", "sort"):
        names.extend(_listed(query.get(key)))
    filter_texts = list(_listed(query.get("filters")))
    segment = SEGMENT.fullmatch(query["segment"].strip()) if isinstance(query.get("segment"), str) else None
    if segment is not None:
        filter_texts.append(segment["condition"])
    filtersets = options.get("filtersets")
    if isinstance(filtersets, list):
        filter_texts.extend(item for filterset in filtersets if isinstance(filterset, list)
                            for item in filterset if isinstance(item, str))
    filter_names = [name for text in filter_texts for name in _filter_names(text)]
    for written in [*names, *filter_names]:
        name = written.lstrip("-").removeprefix("ga:").removeprefix("rt:")
        goal = GOAL.fullmatch(name)
        if goal is not None:
            uses.goals.setdefault(goal["number"], set()).add(goal["part"])
        elif MAPPABLE_DIMENSION.fullmatch(name) or MAPPABLE_METRIC.fullmatch(name):
            uses.fields.add(name)
    if document.get("entrypoint") == REALTIME:
        written_filters = ",".join(_listed(query.get("filters")))
        if any(name.removeprefix("ga:").removeprefix("rt:") in PAGE_PATHS for name in filter_names):
            uses.realtime_filters.add(written_filters)
    return uses


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _filter_names(text: str) -> list[str]:
    found = []
    for group in split_unescaped(text, AND):
        for term in split_unescaped(group, OR):
            match = TERM.fullmatch(term)
            if match is not None:
                found.append(match["name"])
    return found


def uses_by_id(files: Iterable[tuple[Mapping[str, Any], Uses]]) -> dict[str, Uses]:
    """What the files use, per view (`ga:<digits>`) or property id."""
    by_id: dict[str, Uses] = {}
    for document, uses in files:
        query = document.get("query") if isinstance(document.get("query"), Mapping) else {}
        query_id = query.get(ID_KEYS.get(str(document.get("entrypoint")), "id"))
        key = _id_key(query_id)
        if key is not None:
            by_id.setdefault(key, Uses()).add(uses)
    return by_id


def _id_key(query_id: Any) -> str | None:
    """`ga:<digits>` for a view id, the property for a property id (as the query wrote it)."""
    view = view_key_of(query_id)
    if view is not None:
        return f"ga:{view}"
    return query_id.strip() if is_property_id(query_id) else None


def permissive_map(uses: Mapping[str, Uses]) -> Ga4Map:
    """A migration file that maps every view, goal and field `uses` names (to made-up GA4 names)
    and accepts every approximation: what each file would need, were everything mapped."""
    origin = Origin("the migration command's what-if map", "")
    views, properties = {}, {}
    for key, used in uses.items():
        goals = {number: Goal(Mapped(f"goal_{number}", origin), Mapped(f"goal_{number}_start", origin))
                 for number in used.goals}
        fields = {name: Mapped(f"customEvent:ua_{name.lower()}", origin) for name in used.fields}
        filters = {text: Mapped("unifiedScreenName=~.", origin) for text in used.realtime_filters}
        settings = Settings(goals, fields, dict.fromkeys(APPROXIMATIONS, origin), filters)
        view = view_key_of(key)
        if view is not None:
            views[view] = View(Mapped(PROPERTY_PREFIX + view, origin), settings)
        else:
            properties[key] = settings
    return Ga4Map(MappingProxyType(views), MappingProxyType(properties), source=origin.source)


# The report ------------------------------------------------------------------------------------------


def totals(outcomes: Sequence[FileOutcome]) -> dict[str, Counter[str]]:
    """Files per outcome, per approximation used, and per reason of refusal."""
    return {
        "outcomes": Counter(outcome.outcome for outcome in outcomes),
        "approximations": Counter(name for outcome in outcomes for name in outcome.approximations),
        "reasons": Counter(reason for outcome in outcomes for reason in outcome.reasons),
    }


def report_text(outcomes: Sequence[FileOutcome], *, directory: Path, map_source: str | None) -> str:
    """The report: totals, then one line per file."""
    counted = totals(outcomes)
    width = max([len(outcome) for outcome in OUTCOMES] + [len(name) for name in counted["approximations"]]) + 4
    lines = [
        f"GA4 migration report: {len(outcomes)} Google Analytics query file(s) under {directory}",
        f"migration file: {map_source or 'none (--ga4-map or PP_COLLECTOR_GA4_MAP)'}",
        "",
    ]
    for outcome in OUTCOMES:
        count = counted["outcomes"][outcome]
        share = f" ({100 * count / len(outcomes):.1f}%)" if outcomes else ""
        lines.append(f"{outcome + ':':<{width}}{count:>5}{share}")
    if counted["approximations"]:
        lines += ["", "approximations used (files):"]
        lines += [f"  {name:<{width - 2}}{count:>5}" for name, count in sorted(counted["approximations"].items())]
    if counted["reasons"]:
        lines += ["", "refused, by reason (files; a file may have several reasons):"]
        lines += [f"  {count:>5}  {reason}" for reason, count in counted["reasons"].most_common()]
    lines += ["", "files:"]
    for outcome in outcomes:
        line = f"  {outcome.path}: {outcome.outcome}"
        if outcome.approximations:
            line += f": {', '.join(outcome.approximations)}"
        if outcome.outcome == UNIVERSAL:
            line += f" (its view {outcome.query_id!r} is not in the migration file)"
        lines.append(line)
        lines += [f"      {problem}" for problem in outcome.problems]
    return "\n".join(lines) + "\n"


# The template ---------------------------------------------------------------------------------------


def template(outcomes: Sequence[FileOutcome], existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A migration file listing every view and property the files use, with every goal number,
    event field and realtime page-path filter they name, to fill in; whatever `existing` (the
    current migration file, as JSON) says is kept. Each entry says which approximations its files
    would need (`_approximationsNeeded`, a comment: accept them under `approximations`)."""
    existing = existing if isinstance(existing, Mapping) else {}
    old_views = {_id_key(key): value for key, value in _object(existing.get("views")).items() if _id_key(key)}
    views: dict[str, Any] = {}
    properties: dict[str, Any] = copy.deepcopy(dict(_object(existing.get("properties"))))
    by_id: dict[str, list[FileOutcome]] = {}
    for outcome in outcomes:
        key = _id_key(outcome.query_id)
        if key is not None:
            by_id.setdefault(key, []).append(outcome)
    for key in sorted(by_id, key=_sort_key):
        files = by_id[key]
        used = Uses()
        for outcome in files:
            used.add(outcome.uses)
        if view_key_of(key) is not None:
            old = old_views.get(key)
            entry = copy.deepcopy(dict(old)) if isinstance(old, Mapping) else {"property": old or ""}
            entry.setdefault("property", "")
            views[key] = _filled(entry, used, files)
        else:
            properties[key] = _filled(copy.deepcopy(dict(_object(properties.get(key)))), used, files)
    return {
        "_about": "A GA4 migration file (pp-collector --ga4-map): fill in each view's GA4 property, each goal's "
        "key event, each field's GA4 name; '' maps nothing. Accept approximations by listing them under "
        f"'approximations' (known: {', '.join(APPROXIMATIONS)}). Keys starting with '_' are comments.",
        "views": views,
        "properties": properties,
    }


def _filled(entry: dict[str, Any], used: Uses, files: Sequence[FileOutcome]) -> dict[str, Any]:
    if used.goals:
        goals = _object(entry.get("goals"))
        for number in sorted(used.goals, key=int):
            old = goals.get(number, "")
            goal = dict(old) if isinstance(old, Mapping) else {"keyEvent": old}
            goal.setdefault("keyEvent", "")
            if "Starts" in used.goals[number]:
                goal.setdefault("startEvent", "")
            goals[number] = goal
        entry["goals"] = dict(sorted(goals.items(), key=lambda item: _sort_key(item[0])))
    if used.fields:
        fields = _object(entry.get("fields"))
        entry["fields"] = {**{name: "" for name in sorted(used.fields)}, **fields}
    if used.realtime_filters:
        filters = _object(entry.get("realtimeFilters"))
        entry["realtimeFilters"] = {**{text: "" for text in sorted(used.realtime_filters)}, **filters}
    needed: dict[str, list[str]] = {}
    for outcome in files:
        for name in outcome.needs:
            needed.setdefault(name, []).append(outcome.path)
    if needed:
        entry["_approximationsNeeded"] = dict(sorted(needed.items()))
    entry["_files"] = len(files)
    return entry


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _sort_key(key: str) -> tuple[str, int, str]:
    """Views, then properties, each by number (and goal numbers by number)."""
    digits = re.search(r"\d+$", key)
    return (key[: digits.start()] if digits else key, int(digits.group()) if digits else 0, key)
