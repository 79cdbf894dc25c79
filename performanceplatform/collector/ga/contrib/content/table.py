"""`ga.contrib.content.table`: a GA query run once per department, pushed as one table (reference §9).

`options.filtersets` holds one filter list per department (`filtersets`): for each, the query's
filters and the set's are AND-ed, the department it names becomes `additionalFields.department`,
and the whole GA pipeline runs, plugins included, so `ComputeRank('rank')` ranks within a
department. All records go to Backdrop in one push. The caller's query and options are left as
they were; the original rewrote both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.departments import first_department_code
from performanceplatform.collector.errors import ConfigurationError, problems_of
from performanceplatform.collector.ga.contrib.content.filtersets import department_queries
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.report import fetch_periods, probe_report, query_problems
from performanceplatform.collector.ga.rows import record_rows
from performanceplatform.collector.ga.sources import Translation, log_notes, source_for
from performanceplatform.collector.periods import period_range
from performanceplatform.collector.pipeline import open_sink, push
from performanceplatform.collector.records import build_records
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.ga.contrib.content.table"


@takes_run_context
def collect(context: RunContext) -> None:
    source = source_for(context.query.get("id"), context.ga4_map)
    runs = department_queries(
        context.query, context.options.raw, context.department_codes, source=context.query_source
    )
    unnamed = codes_without_a_name(runs, context.department_codes)
    if unnamed:
        log.warning("%s", NO_TABLE.format(codes=", ".join(unnamed)))
    reports = [
        source.report(GaQuery.from_config(query, source=context.query_source), source=context.query_source)
        for _, query in runs
    ]
    log_notes(reports)
    sink = open_sink(context)
    records = []
    with source.open(context) as client:
        for (department, _), report in zip(runs, reports, strict=True):
            periods = period_range(context.start_at, context.end_at, report.frequency)
            with fetch_periods(context, source, client, report, periods) as rows:
                department_rows = [row for period_rows in rows for row in record_rows(period_rows, report.frequency)]
            records.extend(
                build_records(
                    department_rows,
                    context.options.with_additional_fields(department=department),
                    context.data_set.data_type,
                )
            )
    push(sink, records)


@takes_run_context
def check(context: RunContext) -> list[str]:
    """Problems `--check` reports: the filtersets and departments, each department's query, dates, credentials."""
    found = translation(context)
    problems = [*_unnamed_departments(context), *(str(problem) for problem in found.problems)]
    if not problems:
        frequency = GaQuery.from_config(context.query, source=context.query_source).frequency
        problems = problems_of(lambda: period_range(context.start_at, context.end_at, frequency))
    return problems + found.source.credentials_problems(context)


def notes(context: RunContext) -> list[str]:
    """What `--check` says the query derives or approximates (GA4 migrations)."""
    return list(translation(context).notes)


def translation(context: RunContext) -> Translation:
    """Each department's query as the source will ask it, or every reason (each said once) it cannot."""
    source = source_for(context.query.get("id"), context.ga4_map)
    try:
        runs = department_queries(
            context.query, context.options.raw, context.department_codes, source=context.query_source
        )
    except ConfigurationError as error:
        return Translation(source, problems=(error, *query_problems(context, source, context.query)))
    problems: dict[str, ConfigurationError] = {}
    reports = []
    for query in [query for _, query in runs] or [context.query]:
        found = query_problems(context, source, query)
        problems.update((str(problem), problem) for problem in found)
        if not found:
            reports.append(source.report(GaQuery.from_config(query, source=context.query_source),
                                         source=context.query_source))
    if problems:
        return Translation(source, problems=tuple(problems.values()))
    return Translation(source, requests=tuple(reports))


def _unnamed_departments(context: RunContext) -> list[str]:
    """`--check`'s word on departments that would be pushed as codes (no department table)."""
    try:
        runs = department_queries(
            context.query, context.options.raw, context.department_codes, source=context.query_source
        )
    except ConfigurationError:
        return []  # the translation says what is wrong with the filtersets
    unnamed = codes_without_a_name(runs, context.department_codes)
    if not unnamed:
        return []
    return [f"{context.query_source}: key 'options.filtersets': {NO_TABLE.format(codes=', '.join(unnamed))}"]


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: one row of yesterday for the first department's query."""
    source = source_for(context.query.get("id"), context.ga4_map)
    runs = department_queries(context.query, context.options.raw, context.department_codes,
                              source=context.query_source)
    query = runs[0][1] if runs else context.query
    report = source.report(GaQuery.from_config(query, source=context.query_source), source=context.query_source)
    return probe_report(context, source, report)


main = legacy_main(ENTRYPOINT, collect)

NO_TABLE = (
    "no department table was given (--department-codes or PP_COLLECTOR_DEPARTMENT_CODES), so the departments "
    "{codes} would be pushed as the codes themselves"
)


def codes_without_a_name(runs: list[tuple[str, dict[str, Any]]], departments: Mapping[str, str]) -> list[str]:
    """Without a department table, the departments of `runs` that are `<code>`s (with one, a code it
    does not know passes through unchanged, as it always did)."""
    if departments:
        return []
    return [department for department, _ in runs if first_department_code(department) == department]
