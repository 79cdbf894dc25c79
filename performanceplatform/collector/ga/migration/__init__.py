"""Moving Universal Analytics queries to GA4 without editing them: the migration file and what it unlocks.

- `map_file`: the GA4 migration file (`--ga4-map`, `PP_COLLECTOR_GA4_MAP`; per query, `options.ga4`):
  per UA view the GA4 property it became; per property (or view, or query) goal → key event,
  event and custom fields → GA4 fields, the approximations the operator accepts, realtime title
  filters. Read once, by the run context loader.
- `approximations`: the approximations an operator may accept, by name, and what each says.
- `names`: the name table extended by a migration (goals, mapped fields, accepted approximations),
  and a segment as a page filter; the GA4 query translator (`data_api.query`) uses it.
- `metadata`: the property's own names (`getMetadata`), checked before the first report request.
- `survey` and `__main__`: the migration command: a directory of query files → a report and a
  template migration file.

`ga.sources.source_for` is still the one place that chooses a query's source: a view the
migration file maps is answered by the GA4 Data API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Here, not in `map_file`, so that a run without a migration file never imports the reader and
# its model (a Pingdom or Matomo run, or a GA4 realtime run that names its property): the run
# context sees whether a file is named, the name table what a mapping could do.
MAP_FILE_VARIABLE = "PP_COLLECTOR_GA4_MAP"
# UA names a mapped GA4 field can stand for: those whose refusal says to use a GA4 field instead.
MAPPABLE_DIMENSION = re.compile(r"eventCategory|eventAction|eventLabel|dimension\d+|customVar(?:Name|Value)\d+")
MAPPABLE_METRIC = re.compile(r"metric\d+")


def path_from(flag: str | None, environ: Mapping[str, str]) -> str | None:
    """The migration file `--ga4-map` names, else `PP_COLLECTOR_GA4_MAP`; None without either."""
    return flag or environ.get(MAP_FILE_VARIABLE) or None
