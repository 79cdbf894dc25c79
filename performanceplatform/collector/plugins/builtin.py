"""The plugins a query's `options.plugins` can name, with the original's semantics (`ga/plugins`).

Each plugin is a callable that takes the list of records and returns the new list; most change
the records in place, as the original's did. Most work record by record, so a backfill can run
them on each period's records as the period arrives (`first_index` numbers the records in error
messages as in the whole list); those that need every record at once say so with `whole_set`.
Where the original crashed with a bare KeyError, IndexError or AssertionError, these raise a
`CollectorError` that names the plugin, the field and the record.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ..departments import department_for, first_department_code, lookup_department
from ..errors import CollectorError
from ..py2compat import (
    id_timestamp,
    py2_dict_order,
    py2_set_difference_order,
    py2_set_order_of_dict,
    py2_unicode,
    value_id,
)
from .ordering import Py2Ordered

Record = dict[str, Any]
Literal = str | int | float | bool | None


class Plugin(Protocol):
    # True when the plugin's result for a record depends on the other records (ranks, groups).
    whole_set: ClassVar[bool]

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]: ...


class BadArguments(ValueError):
    """A known plugin called with arguments it cannot take (the parser adds the plugin text)."""


def _strings(name: str, args: Sequence[object], *, at_least: int = 0) -> tuple[str, ...]:
    if len(args) < at_least:
        raise BadArguments(f"{name} needs at least {at_least} field name(s)")
    for arg in args:
        if not isinstance(arg, str):
            raise BadArguments(f"{name} takes field names (strings), not {arg!r}")
    return tuple(args)  # type: ignore[arg-type]


def _one_string(name: str, args: Sequence[object]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise BadArguments(f"{name} takes exactly one string")
    return args[0]


def _field(record: Record, key: str, index: int, plugin: str) -> Any:
    try:
        return record[key]
    except KeyError:
        raise CollectorError(
            f"plugin {plugin}: record {index} has no field {key!r} "
            f"(it has {', '.join(map(repr, record)) or 'no fields'})"
        ) from None


@dataclass(frozen=True)
class Comment:
    """Does nothing: a note to whoever reads the query file."""

    text: tuple[Literal, ...]
    whole_set: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> Comment:
        return cls(tuple(args))

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        return records


@dataclass(frozen=True)
class ComputeIdFrom:
    """Sets `_id` and `humanId` from the named fields, joined with `_`."""

    fields: tuple[str, ...]
    whole_set: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> ComputeIdFrom:
        return cls(_strings("ComputeIdFrom", args, at_least=1))

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        for index, record in enumerate(records, start=first_index):
            parts = [
                self._stringify(_field(record, name, index, "ComputeIdFrom"), name, index)
                for name in self.fields
            ]
            human = "_".join(parts)
            if not human:
                raise CollectorError(
                    f"plugin ComputeIdFrom{self.fields!r}: record {index} would get an empty _id"
                )
            record["_id"], record["humanId"] = value_id(human)
        return records

    @staticmethod
    def _stringify(value: Any, name: str, index: int) -> str:
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise CollectorError(
                    f"plugin ComputeIdFrom: field {name!r} of record {index} is a datetime "
                    "without a time zone, so it cannot go into an id (the original failed too)"
                )
            return id_timestamp(value)
        return py2_unicode(value)


@dataclass(frozen=True)
class RemoveKey:
    """Deletes the named fields from every record; each must be there."""

    keys: tuple[str, ...]
    whole_set: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> RemoveKey:
        return cls(_strings("RemoveKey", args))

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        for index, record in enumerate(records, start=first_index):
            for key in self.keys:
                _field(record, key, index, "RemoveKey")
                del record[key]
        return records


@dataclass(frozen=True)
class ComputeRank:
    """Numbers the records 1, 2, … in list order, in the named field."""

    name: str
    whole_set: ClassVar[bool] = True

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> ComputeRank:
        return cls(_one_string("ComputeRank", args))

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        for rank, record in enumerate(records, start=1):
            record[self.name] = rank
        return records


@dataclass(frozen=True)
class ComputeDepartmentKey:
    """Sets `department` from the `<code>` that opens the named field."""

    key: str
    departments: Mapping[str, str] = field(repr=False, compare=False)
    whole_set: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> ComputeDepartmentKey:
        return cls(_one_string("ComputeDepartmentKey", args), departments)

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        for index, record in enumerate(records, start=first_index):
            value = _field(record, self.key, index, "ComputeDepartmentKey")
            code = first_department_code(value) if isinstance(value, str) else None
            if code is None:
                raise CollectorError(
                    f"plugin ComputeDepartmentKey: field {self.key!r} of record {index} does not "
                    f"start with a department code like <D1>: {value!r}"
                )
            record["department"] = lookup_department(code, self.departments)
        return records


@dataclass(frozen=True)
class SetDepartment:
    """Sets `department` on every record to one department, given by code or by name."""

    department: str
    whole_set: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args: Sequence[Literal], departments: Mapping[str, str]) -> SetDepartment:
        # Resolved once, when the plugin is read, as the original's constructor did.
        return cls(department_for(_one_string("SetDepartment", args), departments))

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        for record in records:
            record["department"] = self.department
        return records


@dataclass(frozen=True)
class Aggregation:
    """`aggregate_count(key)` or `aggregate_rate(rate_key, count_key)` inside AggregateKey."""

    key: str
    count_key: str | None = None

    @classmethod
    def count(cls, args: Sequence[Literal]) -> Aggregation:
        return cls(_one_string("aggregate_count", args))

    @classmethod
    def rate(cls, args: Sequence[Literal]) -> Aggregation:
        if len(args) != 2:
            raise BadArguments("aggregate_rate takes a rate field and a count field")
        rate_key, count_key = _strings("aggregate_rate", args)
        return cls(rate_key, count_key)

    def apply(self, group: list[tuple[int, Record]]) -> Any:
        if self.count_key is None:
            return self._sum(group, lambda index, record: self._number(record, self.key, index))
        total = self._sum(
            group, lambda index, record: self._number(record, self.count_key, index)
        )
        weighted = self._sum(
            group,
            lambda index, record: self._number(record, self.key, index)
            * self._number(record, self.count_key, index),
        )
        if total == 0:
            raise CollectorError(
                f"plugin AggregateKey: aggregate_rate({self.key!r}, {self.count_key!r}) "
                "divides by a total count of 0"
            )
        return weighted / total

    @staticmethod
    def _sum(group: list[tuple[int, Record]], term: Callable[[int, Record], Any]) -> Any:
        # Left to right from 0, as Python 2's sum(): Python 3.12 compensates float sums.
        total: Any = 0
        for index, record in group:
            total = total + term(index, record)
        return total

    @staticmethod
    def _number(record: Record, key: str | None, index: int) -> Any:
        value = _field(record, key or "", index, "AggregateKey")
        if not isinstance(value, int | float):
            raise CollectorError(
                f"plugin AggregateKey: field {key!r} of record {index} is not a number: {value!r}"
            )
        return value


@dataclass(frozen=True)
class AggregateKey:
    """Merges records that agree on every field not being aggregated.

    The grouping fields are those of the first record; groups come out in the order Python 2
    sorted their values in, each a copy of its first record with the aggregates applied.
    """

    aggregations: tuple[Aggregation, ...]
    whole_set: ClassVar[bool] = True

    def __call__(self, records: list[Record], first_index: int = 0) -> list[Record]:
        if not records:
            return []
        aggregated = {aggregation.key for aggregation in self.aggregations}
        # The original took `set(first) - set(aggregated)`; Python 2 set order decides which
        # field the sort compares first.
        first_order = py2_dict_order(records[0])
        group_keys = py2_set_difference_order(py2_set_order_of_dict(first_order), aggregated)
        keyed = [
            (
                Py2Ordered(tuple(_field(record, key, index, "AggregateKey") for key in group_keys)),
                (index, record),
            )
            for index, record in enumerate(records)
        ]
        keyed.sort(key=lambda pair: pair[0])
        merged = []
        for _, pairs in itertools.groupby(keyed, key=lambda pair: pair[0]):
            group = [pair[1] for pair in pairs]
            first = group[0][1]
            # A dict copy iterates in the source's Python 2 order; keep that as our order.
            new = {key: first[key] for key in py2_dict_order(first)}
            for aggregation in self.aggregations:
                new[aggregation.key] = aggregation.apply(group)
            merged.append(new)
        return merged


PLUGINS: dict[str, Callable[[Sequence[Literal], Mapping[str, str]], Plugin]] = {
    "Comment": Comment.from_args,
    "ComputeIdFrom": ComputeIdFrom.from_args,
    "RemoveKey": RemoveKey.from_args,
    "ComputeRank": ComputeRank.from_args,
    "ComputeDepartmentKey": ComputeDepartmentKey.from_args,
    "SetDepartment": SetDepartment.from_args,
}

AGGREGATIONS: dict[str, Callable[[Sequence[Literal]], Aggregation]] = {
    "aggregate_count": Aggregation.count,
    "aggregate_rate": Aggregation.rate,
}
