"""The GA4 migration command: a directory of query files, read under a GA4 migration file.

    python -m performanceplatform.collector.ga.migration QUERIES_DIR [--ga4-map MAP.json]
        [--report REPORT.txt] [--template TEMPLATE.json] [--force] [--rewrite]
        [--department-codes CODES.json]

It writes the report (stdout, or `--report FILE`): per file, whether it collects exactly, collects
with named approximations, is refused (every reason, naming the file and key) or stays on
Universal Analytics, with totals per outcome, per approximation and per reason. `--template FILE`
also writes a migration file listing every view, goal number, event field and realtime page-path
filter the directory uses, keeping what `--ga4-map` already says (an existing FILE is kept unless
`--force`). Query files are only read, unless `--rewrite`: then each file that collects, whose
view the migration file maps to a property (and gives no settings of its own), gets that property
as its id, the original kept beside it as `FILE.orig`.

Exit codes: 0 when the report is written (refused files included), 2 for a usage or configuration
mistake, named on one line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from performanceplatform.collector.departments import ENV_VAR as DEPARTMENT_CODES_VARIABLE
from performanceplatform.collector.departments import NO_DEPARTMENTS, load_department_codes
from performanceplatform.collector.errors import EXIT_OK, EXIT_USAGE, ConfigurationError
from performanceplatform.collector.ga.migration import map_file
from performanceplatform.collector.ga.migration.survey import (
    APPROXIMATE,
    EXACT,
    FileOutcome,
    report_text,
    survey,
    template,
)
from performanceplatform.collector.redaction import redact

PROG = "python -m performanceplatform.collector.ga.migration"
BACKUP_SUFFIX = ".orig"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Report what each Google Analytics query file under a directory does under a GA4 migration "
        "file, and write a template migration file listing what the files use.",
    )
    parser.add_argument("directory", metavar="QUERIES_DIR", type=Path, help="the query files (read recursively)")
    parser.add_argument("--ga4-map", metavar="MAP.json", help=f"the GA4 migration file (default: {map_file.ENV_VAR})")
    parser.add_argument("--report", metavar="FILE", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--template", metavar="FILE", type=Path,
                        help="write a migration file to fill in: every view, goal, event field the files use")
    parser.add_argument("--force", action="store_true", help="replace an existing --template FILE")
    parser.add_argument("--rewrite", action="store_true",
                        help="give each file that collects its view's property as id, keeping the original "
                        f"as FILE{BACKUP_SUFFIX}")
    parser.add_argument("--department-codes", metavar="CODES.json",
                        help=f"department codes for content tables' filtersets (default: {DEPARTMENT_CODES_VARIABLE})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigurationError as error:
        print(f"{PROG}: error: {redact(str(error))}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        raise ConfigurationError("is not a directory of query files", source=str(args.directory))
    map_path = map_file.path_from(args.ga4_map, os.environ)
    ga4_map = map_file.load_ga4_map(map_path)
    codes = args.department_codes or os.environ.get(DEPARTMENT_CODES_VARIABLE)
    departments = load_department_codes(codes) if codes else NO_DEPARTMENTS
    if args.template is not None and args.template.exists() and not args.force:
        raise ConfigurationError("exists; pass --force to replace it", source=f"--template {args.template}")
    outcomes = survey(args.directory, ga4_map, departments=departments)
    text = report_text(outcomes, directory=args.directory, map_source=ga4_map.source)
    if args.rewrite:
        text += _rewrite(args.directory, outcomes, ga4_map)
    if args.report is None:
        sys.stdout.write(text)
    else:
        args.report.write_text(text, encoding="utf-8")
    if args.template is not None:
        existing = _existing_document(map_path)
        args.template.write_text(json.dumps(template(outcomes, existing), indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


def _existing_document(path: str | None) -> dict | None:
    if path is None:
        return None
    from performanceplatform.collector.config import load_json_file

    return load_json_file(path, map_file.ROLE)


def _rewrite(directory: Path, outcomes: Sequence[FileOutcome], ga4_map: map_file.Ga4Map) -> str:
    """Give each collecting file its property as id (originals kept); what was done, for the report."""
    lines = ["", "rewritten:"]
    for outcome in outcomes:
        if outcome.outcome not in (EXACT, APPROXIMATE) or outcome.view is None:
            continue
        view = ga4_map.views.get(outcome.view.removeprefix("ga:"))
        if view is None or view.property is None:
            continue  # a query of its own (options.ga4 names the property): it needs no rewrite
        path = directory / outcome.path
        if view.settings != map_file.NO_SETTINGS:
            lines.append(f"  {outcome.path}: left as it is: view {outcome.view} has settings of its own in the "
                         f"migration file; move them to properties.{view.property.ga4} first")
            continue
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        if backup.exists():
            lines.append(f"  {outcome.path}: left as it is: {backup.name} already exists")
            continue
        key = "ids" if outcome.entrypoint.endswith(".realtime") else "id"
        text = path.read_text(encoding="utf-8-sig")
        # Only the id's value changes: the rest of the file keeps its formatting.
        pattern = re.compile(rf'("{key}"\s*:\s*)"{re.escape(str(outcome.query_id))}"')
        if len(pattern.findall(text)) != 1:
            lines.append(f"  {outcome.path}: left as it is: its {key} is not written as one JSON string")
            continue
        property_ = view.property.ga4
        shutil.copy2(path, backup)
        path.write_text(pattern.sub(lambda match, new=property_: f'{match[1]}"{new}"', text), encoding="utf-8")
        lines.append(f"  {outcome.path}: {key} {outcome.query_id} -> {property_} (original: {backup.name})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
