"""Matomo (named Piwik until 2018): the `piwik.core` and `piwik.realtime` entrypoints.

The entrypoints keep the names the original gave them, which production query files name:
`core` collects a report of Matomo's Reporting API per day, week or month; `realtime` counts the
visitors of the last few minutes. Both speak the same API as the original (Piwik 2.x) and today's
Matomo 5: `client` sends the token in a POST body and reads Matomo's errors, `query` reads a query
file into what to ask, `answers` turns what Matomo answered into rows and counts, and the record
builder and the Backdrop client do the rest, as for every collector.

This package has no `main` of its own, as the original's had none: a query file must name one of
the two modules.
"""
