"""The GA4 migration file: the property each Universal Analytics view became, and what GA4 needs told.

The operator keeps one file beside the query files and names it with `--ga4-map FILE` (cron:
`PP_COLLECTOR_GA4_MAP`); query files then need no edit at all, as the view id alone finds its
property::

    {
      "views": {
        "ga:94136256": "properties/312345678",
        "ga:77430707": {"property": "properties/312345679", "goals": {"1": "book_appointment"}}
      },
      "properties": {
        "properties/312345678": {
          "goals": {"1": "payment_complete", "2": {"keyEvent": "sign_up", "startEvent": "begin_sign_up"}},
          "fields": {"eventCategory": "customEvent:event_category", "eventAction": "eventName"},
          "approximations": ["segment-as-page-filter", "entrances-as-sessions"],
          "realtimeFilters": {"ga:pagePath=~^/make-a-sorn$": "unifiedScreenName=~^Make a SORN"}
        }
      }
    }

- `views`: a view id (`ga:` optional) → its property (`properties/<number>`), or an object with
  `property` and settings of its own (UA goals were numbered per view). An empty property leaves
  the view on Universal Analytics.
- Settings, per property, per view and per query (a query file's `options.ga4`, which may also
  name its `property`): `goals` (goal number → its key event, or `{"keyEvent", "startEvent"}`),
  `fields` (a UA name without a built-in GA4 equivalent: `eventCategory`, `eventAction`,
  `eventLabel`, `dimensionN`, `metricN` → a GA4 field such as `eventName` or
  `customEvent:<parameter>`), `approximations` (the names in `approximations.APPROXIMATIONS`
  the operator accepts) and `realtimeFilters` (a `ga.realtime` page-path filter, as written → a
  filter on the page title, `unifiedScreenName`). A view's settings win over its property's, a
  query's over both; a list of approximations replaces the one it overrides.
- An empty string maps nothing (a template half filled in still loads); keys starting with `_`
  are comments; any other unknown key is a mistake, reported with the file and the key.

Every setting keeps where it was written (`Origin`), so that a name the property turns out not to
have (`metadata`) is reported against the line that mapped it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.migration import MAP_FILE_VARIABLE, MAPPABLE_DIMENSION, MAPPABLE_METRIC
from performanceplatform.collector.ga.migration import path_from as path_from  # the package's, re-exported
from performanceplatform.collector.ga.migration.approximations import APPROXIMATIONS

ENV_VAR = MAP_FILE_VARIABLE
ROLE = "GA4 migration file"
QUERY_KEY = "options.ga4"
PROPERTY = re.compile(r"properties/\d+")
VIEW = re.compile(r"(?:ga:)?(\d+)")
GOAL_NUMBER = re.compile(r"[1-9]\d*")
# A key that opens so is a comment (the template's `_about`, `_approximationsNeeded`).
COMMENT = re.compile("_")
SETTINGS_KEYS = ("goals", "fields", "approximations", "realtimeFilters")
GOAL_KEYS = ("keyEvent", "startEvent")


@dataclass(frozen=True)
class Origin:
    """Where a setting was written: the file and the key, as every error names them."""

    source: str
    key: str

    def error(self, message: str, *, reason: str | None = None) -> ConfigurationError:
        return ConfigurationError(message, source=self.source, key=self.key, reason=reason)


@dataclass(frozen=True)
class Mapped:
    """A GA4 name the operator gave, and where."""

    ga4: str
    origin: Origin


@dataclass(frozen=True)
class Goal:
    """A UA goal's key event (for completions and conversion rates) and start event (for starts)."""

    key_event: Mapped | None = None
    start_event: Mapped | None = None


@dataclass(frozen=True)
class Settings:
    """What a property's (or view's, or query's) queries need that GA4 does not have built in.

    `approximations` is None when these settings do not say (the ones they override then apply).
    """

    goals: Mapping[str, Goal] = field(default_factory=dict)
    fields: Mapping[str, Mapped] = field(default_factory=dict)
    approximations: Mapping[str, Origin] | None = None
    realtime_filters: Mapping[str, Mapped] = field(default_factory=dict)

    def over(self, base: Settings) -> Settings:
        """These settings, with `base`'s for whatever they leave out."""
        return Settings(
            goals=MappingProxyType({**base.goals, **self.goals}),
            fields=MappingProxyType({**base.fields, **self.fields}),
            approximations=base.approximations if self.approximations is None else self.approximations,
            realtime_filters=MappingProxyType({**base.realtime_filters, **self.realtime_filters}),
        )

    @property
    def accepted(self) -> Mapping[str, Origin]:
        return self.approximations or {}


NO_SETTINGS = Settings()


@dataclass(frozen=True)
class View:
    property: Mapped | None
    settings: Settings = NO_SETTINGS


@dataclass(frozen=True)
class Migration:
    """How one query moves to GA4: the property that answers it, and the settings that apply.

    `view` is the UA view the query names (None when its id is already a property); `mapped` is
    whether a migration file or `options.ga4` says anything about the query.
    """

    property: str
    view: str | None = None
    settings: Settings = NO_SETTINGS
    mapped: bool = False


@dataclass(frozen=True)
class Ga4Map:
    """A GA4 migration file as read (and a query's `options.ga4` over it): see the module."""

    views: Mapping[str, View] = field(default_factory=dict)
    properties: Mapping[str, Settings] = field(default_factory=dict)
    query: View | None = None
    source: str | None = None

    def property_for_view(self, query_id: Any) -> str | None:
        """The GA4 property a query of this UA view id is asked of: the query's own
        (`options.ga4.property`), else the one its view became; None when neither says."""
        if self.query is not None and self.query.property is not None:
            return self.query.property.ga4
        view_key = view_key_of(query_id)
        view = self.views.get(view_key) if view_key is not None else None
        return view.property.ga4 if view is not None and view.property is not None else None

    def migration(self, property_: str, query_id: Any) -> Migration:
        """How a query with this `id` (`ids`) is asked of `property_`: the property's settings,
        under its view's (when the id is a view), under the query's own."""
        view_key = view_key_of(query_id)
        view = self.views.get(view_key) if view_key is not None else None
        settings = self.properties.get(property_, NO_SETTINGS)
        if view is not None:
            settings = view.settings.over(settings)
        if self.query is not None:
            settings = self.query.settings.over(settings)
        mapped = view is not None or property_ in self.properties or self.query is not None
        return Migration(property_, f"ga:{view_key}" if view_key is not None else None, settings, mapped)

    def with_query_settings(self, raw: Any, *, source: str) -> Ga4Map:
        """This map with a query file's `options.ga4` over it; raises the first problem."""
        settings, problems = read_query_settings(raw, source=source)
        if problems:
            raise problems[0]
        return self.with_query(settings)

    def with_query(self, settings: View | None) -> Ga4Map:
        """This map with a query's own settings (`read_query_settings`) over it."""
        return self if settings is None else replace(self, query=settings)


NO_GA4_MAP = Ga4Map()


def view_key_of(query_id: Any) -> str | None:
    """The digits of a UA view id (`ga:94136256`, `94136256`, 94136256); None for anything else."""
    if isinstance(query_id, int) and not isinstance(query_id, bool):
        query_id = str(query_id)
    match = VIEW.fullmatch(query_id.strip()) if isinstance(query_id, str) else None
    return match.group(1) if match else None


def load_ga4_map(path: str | os.PathLike[str] | None) -> Ga4Map:
    """The migration file at `path` (no file: an empty map); raises the first problem."""
    found, problems = ga4_map_and_problems(path)
    if problems:
        raise problems[0]
    return found


def ga4_map_and_problems(path: str | os.PathLike[str] | None) -> tuple[Ga4Map, list[ConfigurationError]]:
    """The migration file at `path` and every problem in it (for `--check`)."""
    if path is None:
        return NO_GA4_MAP, []
    from performanceplatform.collector.config import load_json_file

    try:
        document = load_json_file(path, ROLE)
    except ConfigurationError as error:
        return NO_GA4_MAP, [error]
    return read_ga4_map(document, source=f"{ROLE} {os.fspath(path)}")


def read_ga4_map(document: Mapping[str, Any], *, source: str) -> tuple[Ga4Map, list[ConfigurationError]]:
    reader = _Reader(source)
    reader.keys(document, "", ("views", "properties"))
    views: dict[str, View] = {}
    for view_id, value in reader.object(document.get("views"), "views").items():
        key = f"views.{view_id}"
        view_key = view_key_of(view_id)
        if view_key is None:
            reader.problem(key, f"{view_id!r} is not a Universal Analytics view id: expected 'ga:<number>'")
            continue
        if view_key in views:
            reader.problem(key, f"view {view_key} is listed twice")
            continue
        views[view_key] = reader.view(value, key)
    properties: dict[str, Settings] = {}
    for property_, value in reader.object(document.get("properties"), "properties").items():
        key = f"properties.{property_}"
        if not PROPERTY.fullmatch(property_):
            reader.problem(key, f"{property_!r} is not a GA4 property: expected 'properties/<number>' (the "
                           "property's number, not its 'G-' measurement id)")
            continue
        properties[property_] = reader.settings(value, key, allowed=SETTINGS_KEYS)
    found = Ga4Map(MappingProxyType(views), MappingProxyType(properties), source=source)
    return found, reader.problems


def read_query_settings(raw: Any, *, source: str) -> tuple[View | None, list[ConfigurationError]]:
    """A query file's `options.ga4` (None when it has none) and every problem in it."""
    if raw is None:
        return None, []
    reader = _Reader(source)
    return reader.view(raw, QUERY_KEY, inline_only=True), reader.problems


class _Reader:
    """Reads the parts of a migration file (or `options.ga4`), noting every problem with its key."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[ConfigurationError] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(ConfigurationError(message, source=self.source, key=key or None))

    def origin(self, key: str) -> Origin:
        return Origin(self.source, key)

    def object(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(key, f"expected an object, got {value!r}")
            return {}
        return {name: item for name, item in value.items() if not _is_comment(name)}

    def keys(self, value: Any, key: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(value, Mapping):
            self.problem(key, f"expected an object, got {value!r}")
            return
        for name in value:
            if not _is_comment(name) and name not in allowed:
                where = f"{key}.{name}" if key else name
                self.problem(where, f"unknown key: expected one of {', '.join(allowed)} (or a '_' comment)")

    def view(self, value: Any, key: str, *, inline_only: bool = False) -> View:
        """A view's entry (a property, or an object of a property and settings), or `options.ga4`."""
        if isinstance(value, str) and not inline_only:
            return View(self.property(value, key))
        if not isinstance(value, Mapping):
            expected = "an object" if inline_only else "a property such as 'properties/123456789', or an object"
            self.problem(key, f"expected {expected}, got {value!r}")
            return View(None)
        property_ = self.property(value.get("property", ""), f"{key}.property")
        return View(property_, self.settings(value, key, allowed=("property", *SETTINGS_KEYS)))

    def property(self, value: Any, key: str) -> Mapped | None:
        if value == "":
            return None
        if not isinstance(value, str) or not PROPERTY.fullmatch(value.strip()):
            self.problem(key, f"expected a GA4 property such as 'properties/123456789' (the property's number, "
                              f"not its 'G-' measurement id), got {value!r}")
            return None
        return Mapped(value.strip(), self.origin(key))

    def settings(self, value: Any, key: str, *, allowed: tuple[str, ...]) -> Settings:
        if not isinstance(value, Mapping):
            self.problem(key, f"expected an object of {', '.join(SETTINGS_KEYS)}, got {value!r}")
            return NO_SETTINGS
        self.keys(value, key, allowed)
        return Settings(
            goals=MappingProxyType(self.goals(value.get("goals"), f"{key}.goals")),
            fields=MappingProxyType(self.fields(value.get("fields"), f"{key}.fields")),
            approximations=self.approximations(value.get("approximations"), f"{key}.approximations"),
            realtime_filters=MappingProxyType(
                self.names(value.get("realtimeFilters"), f"{key}.realtimeFilters", _realtime_filter_problem)
            ),
        )

    def goals(self, value: Any, key: str) -> dict[str, Goal]:
        goals = {}
        for number, entry in self.object(value, key).items():
            where = f"{key}.{number}"
            if not GOAL_NUMBER.fullmatch(number):
                self.problem(where, f"{number!r} is not a goal number: expected 1, 2, ... as in 'goal1Completions'")
                continue
            if isinstance(entry, str):
                entry = {"keyEvent": entry}
            if not isinstance(entry, Mapping):
                self.problem(
                    where, f"expected a key event name, or an object of keyEvent and startEvent, got {entry!r}"
                )
                continue
            self.keys(entry, where, GOAL_KEYS)
            events = [self.event(entry.get(name, ""), f"{where}.{name}") for name in GOAL_KEYS]
            goals[number] = Goal(*events)
        return goals

    def event(self, value: Any, key: str) -> Mapped | None:
        if value == "":
            return None
        if not isinstance(value, str) or not re.fullmatch(r"\w+", value):
            self.problem(key, f"expected a GA4 event name (letters, digits and '_'), such as 'purchase', got {value!r}")
            return None
        return Mapped(value, self.origin(key))

    def fields(self, value: Any, key: str) -> dict[str, Mapped]:
        return self.names(value, key, _field_problem, name_key=lambda name: name.removeprefix("ga:"))

    def names(
        self,
        value: Any,
        key: str,
        problem_of: Callable[[str, str], str | None],
        *,
        name_key: Callable[[str], str] = lambda name: name,
    ) -> dict[str, Mapped]:
        found = {}
        for name, target in self.object(value, key).items():
            where = f"{key}.{name}"
            if target == "":
                continue
            if not isinstance(target, str):
                self.problem(where, f"expected a string, got {target!r}")
                continue
            problem = problem_of(name, target)
            if problem:
                self.problem(where, problem)
                continue
            found[name_key(name)] = Mapped(target.strip(), self.origin(where))
        return found

    def approximations(self, value: Any, key: str) -> Mapping[str, Origin] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            self.problem(key, f"expected a list of approximation names, got {value!r}")
            return None
        accepted = {}
        for index, name in enumerate(value):
            if name not in APPROXIMATIONS:
                self.problem(key, f"{name!r} is not an approximation pp-collector knows: expected one of "
                                  f"{', '.join(APPROXIMATIONS)}")
                continue
            accepted[name] = self.origin(f"{key}[{index}]")
        return MappingProxyType(accepted)


def _is_comment(key: str) -> bool:
    return COMMENT.match(key) is not None


def _field_problem(name: str, target: str) -> str | None:
    """Why `name` cannot be mapped to `target` (None when it can)."""
    from performanceplatform.collector.ga.data_api import schema

    bare = name.removeprefix("ga:")
    if MAPPABLE_DIMENSION.fullmatch(bare):
        kind, known = "dimension", schema.is_dimension
    elif MAPPABLE_METRIC.fullmatch(bare):
        kind, known = "metric", schema.is_metric
    else:
        return (
            f"{name!r} cannot be mapped: only UA names GA4 has no field for but the property can "
            "(eventCategory, eventAction, eventLabel, dimensionN, customVarNameN, customVarValueN, metricN) "
            "are mapped here; other UA names are translated by pp-collector, or refused with the reason"
        )
    if not known(target.strip()):
        return (
            f"{target!r} is not a GA4 {kind} name: expected a field such as 'eventName' or "
            "'customEvent:<parameter>' (a parameter registered as a custom definition)"
        )
    return None


def _realtime_filter_problem(name: str, target: str) -> str | None:
    if not target.strip():
        return "expected a filter on the page title, such as 'unifiedScreenName=~^Make a SORN'"
    return None
