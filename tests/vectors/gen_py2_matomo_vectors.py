# -*- coding: utf-8 -*-
# ruff: noqa
# This script runs under CPython 2.7 only, so Python 3 lint rules do not apply to it.
"""Print the records the original's piwik collectors made from given Matomo answers, under Python 2.

The original `piwik.core` read Matomo's answer (an object keyed by period) into one item per row,
kept only the `mappings` columns (renamed) plus `timeSpan`, and handed them to its DataParser,
whose ids render values with Python 2's `unicode()` and whose dicts iterate in Python 2's order.
This script does the same, written here from the behaviour reference (piwik-matomo.md §3-4 and
original-behaviour.md §2.5, §9), on the same 64-bit CPython 2.7 the original ran on, and prints
each case's records. tests/piwik/test_vectors.py checks pp-collector against them. Regenerate
py2_matomo_vectors.json with:

    ~/.pyenv/versions/2.7.18/bin/python tests/vectors/gen_py2_matomo_vectors.py > tests/vectors/py2_matomo_vectors.json

It is never run by the tests or at run time; the JSON it prints is committed.
"""
from __future__ import print_function

import base64
import datetime
import json
import random
import re
import sys

if sys.version_info[:2] != (2, 7) or sys.maxsize != 2 ** 63 - 1 or sys.maxunicode != 0x10FFFF:
    sys.exit("needs 64-bit CPython 2.7 with wide unicode")
if sys.flags.hash_randomization:
    sys.exit("hash randomisation must be off (unset PYTHONHASHSEED, no -R)")

rng = random.Random(20150216)


class FixedOffset(datetime.tzinfo):
    def __init__(self, minutes):
        self.minutes = minutes

    def utcoffset(self, dt):
        return datetime.timedelta(minutes=self.minutes)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "F%d" % self.minutes


UTC = FixedOffset(0)
PERIODS = {"daily": u"day", "weekly": u"week", "monthly": u"month"}


def enc(value):
    """A JSON form of a value that keeps its Python type (as gen_py2_vectors.py writes them)."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, (int, long)):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": value.hex()}
    if isinstance(value, str):
        return {"t": "str", "v": value.decode("utf-8")}
    if isinstance(value, unicode):
        return {"t": "str", "v": value}
    if isinstance(value, datetime.datetime):
        tz = value.utcoffset()
        return {
            "t": "datetime",
            "v": [value.year, value.month, value.day, value.hour, value.minute,
                  value.second, value.microsecond],
            "tz": None if tz is None else int(tz.total_seconds()) // 60,
        }
    if isinstance(value, list):
        return {"t": "list", "v": [enc(v) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[k, enc(v)] for k, v in value.items()]}
    raise TypeError(repr(value))


# --- the original's reading of an answer, and its DataParser -----------------------------------

def period_start(key):
    """The first YYYY-MM-DD (or YYYY-MM: the 1st) in a period key, at midnight UTC."""
    text = re.search(r"\d{4}-\d{2}(-\d{2})?", key).group()
    pattern = "%Y-%m-%d" if len(text) == 10 else "%Y-%m"
    return datetime.datetime.strptime(text, pattern).replace(tzinfo=UTC)


def multi_values(mappings, doc):
    found = {}
    for source, target in mappings.items():
        match = re.search(r"^(.*)_(\d*)$", source)
        if match:
            value = doc.get(match.group(1))
            if value is None:
                continue
            parts = value.split(":")
            if int(match.group(2)) < len(parts):
                found[target] = parts[int(match.group(2))]
    return found


def piwik_records(data_type, frequency, options, answer):
    """(period key, record) for every row of the answer, in the order the original made them."""
    period = PERIODS[frequency]
    data_type = options.get("dataType", data_type)
    mappings = options["mappings"]
    additional = options.get("additionalFields", {})
    id_mapping = options.get("idMapping")
    out = []
    for key, points in answer.items():
        if isinstance(points, dict):
            points = [points]
        start = period_start(key)
        for point in points:
            special = {}
            for source, target in mappings.items():
                special[target] = point[source]
            special["timeSpan"] = period
            base = {"_timestamp": start, "dataType": data_type}
            doc = dict(base.items() + additional.items() + special.items())
            renamed = dict((mappings.get(k, k), v) for k, v in doc.items())
            doc = dict(renamed.items() + multi_values(mappings, doc).items())
            if id_mapping is not None:
                keys = id_mapping if isinstance(id_mapping, list) else [id_mapping]
                human = u"".join(unicode(doc.get(k, u"")) for k in keys)
            else:
                slugs = [data_type, start.strftime("%Y%m%d%H%M%S"), doc.get("timeSpan")]
                human = u"_".join(s for s in slugs if s is not None)
            doc["humanId"] = human.encode("utf-8")
            doc["_id"] = base64.urlsafe_b64encode(human.encode("utf-8"))
            out.append((key, doc))
    return out


# --- cases ----------------------------------------------------------------------------------

def week_key(first, form):
    last = first + datetime.timedelta(days=6)
    if form == "piwik2":
        return u"From %s to %s" % (first.isoformat(), last.isoformat())
    return u"%s,%s" % (first.isoformat(), last.isoformat())


def key_for(first, frequency, form):
    if frequency == "weekly":
        return week_key(first, form)
    if frequency == "monthly":
        return first.strftime("%Y-%m").decode("ascii")
    return first.isoformat().decode("ascii")


def firsts(frequency, start, count):
    days = []
    day = start
    for _ in range(count):
        days.append(day)
        if frequency == "daily":
            day += datetime.timedelta(days=1)
        elif frequency == "weekly":
            day += datetime.timedelta(days=7)
        else:
            day = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return days


def answer_text(frequency, form, by_first):
    """The answer as Matomo writes it: keys in date order."""
    parts = []
    for first, value in by_first:
        parts.append(json.dumps(key_for(first, frequency, form)) + ": " + json.dumps(value))
    return u"{" + u", ".join(parts) + u"}"


BROWSER_OPTIONS = u'{"mappings": {"label": "browser", "nb_visits": "sessions"}, ' \
                  u'"idMapping": ["dataType", "_timestamp", "timeSpan", "browser"]}'
DEVICE_OPTIONS = u'{"mappings": {"label": "devices", "nb_visits": "sessions"}, ' \
                 u'"idMapping": ["dataType", "_timestamp", "timeSpan", "devices"]}'
GOAL_OPTIONS = u'{"mappings": {"nb_visits_converted": "converted", "nb_conversions": "sessions"}, ' \
               u'"idMapping": ["dataType", "_timestamp", "timeSpan"]}'
GOAL_WITH_FIELDS_OPTIONS = (
    u'{"mappings": {"nb_visits_converted": "bookingconverted", "nb_conversions": "count"}, '
    u'"additionalFields": {"service_identifier": "pp|example-service|booking", "journey_stage": "booking", '
    u'"event_type": "stage", "event_detail": "transaction"}, '
    u'"idMapping": ["dataType", "_timestamp", "timeSpan", "bookingconverted"]}'
)


def report_rows(labels, columns=(u"nb_visits",)):
    rows = []
    for label in labels:
        row = {u"label": label}
        for column in columns:
            row[column] = rng.randint(0, 5000)
        rows.append(row)
    return rows


def goal_object():
    converted = rng.randint(0, 300)
    return {u"nb_conversions": converted + rng.randint(0, 9), u"nb_visits_converted": converted,
            u"revenue": 0, u"conversion_rate": u"%.2f%%" % (rng.random() * 20)}


def case(name, method, data_type, frequency, form, options, by_first):
    return {
        "name": name,
        "method": method,
        "data_type": data_type,
        "frequency": frequency,
        "form": form,
        "options": options,
        "answer": answer_text(frequency, form, by_first),
    }


def written_cases():
    cases = []
    week = datetime.date(2015, 2, 2)
    # The original's own test: one browser row, weekly, Piwik 2's week key.
    chrome = [(week, [{u"label": u"Chrome", u"nb_visits": 730}])]
    for form in ("piwik2", "matomo5"):
        cases.append(case("reference-browser-count-" + form, "DevicesDetection.getBrowserVersions",
                          u"browser-count", "weekly", form, BROWSER_OPTIONS, chrome))
    browsers = [u"Chrome 40.0", u"Internet Explorer 11.0", u"Firefox 35.0", u"Safari 8.0", u"Opera 27.0"]
    devices = [u"Desktop", u"Smartphone", u"Tablet", u"Phablet"]
    for form in ("piwik2", "matomo5"):
        cases.append(case("browsers-" + form, "DevicesDetection.getBrowserVersions", u"browser-usage", "weekly",
                          form, BROWSER_OPTIONS,
                          [(first, report_rows(browsers)) for first in firsts("weekly", week, 6)]))
        cases.append(case("devices-" + form, "DevicesDetection.getType", u"device-usage", "weekly", form,
                          DEVICE_OPTIONS, [(first, report_rows(devices)) for first in firsts("weekly", week, 5)]))
        cases.append(case("goal-completions-" + form, "Goals.get", u"journey-by-goal", "weekly", form,
                          GOAL_OPTIONS, [(first, goal_object()) for first in firsts("weekly", week, 4)]))
        cases.append(case("goal-completions-with-fields-" + form, "Goals.get", u"journey-by-goal", "weekly", form,
                          GOAL_WITH_FIELDS_OPTIONS,
                          [(first, goal_object()) for first in firsts("weekly", week, 4)]))
    cases.append(case("daily-devices", "DevicesDetection.getType", u"device-usage", "daily", "matomo5",
                      DEVICE_OPTIONS, [(first, report_rows(devices)) for first in
                                       firsts("daily", datetime.date(2015, 2, 13), 9)]))
    cases.append(case("monthly-goals", "Goals.get", u"journey-by-goal", "monthly", "matomo5", GOAL_OPTIONS,
                      [(first, goal_object()) for first in firsts("monthly", datetime.date(2014, 11, 1), 5)]))
    # No idMapping: dataType, the period start and timeSpan; the rows of one period share the id.
    cases.append(case("api-get-default-id", "API.get", u"visitors", "weekly", "matomo5",
                      u'{"mappings": {"nb_visits": "visits", "bounce_rate": "bounceRate"}}',
                      [(first, {u"nb_visits": 1200 + i, u"bounce_rate": u"41%", u"nb_actions": 3}) for i, first
                       in enumerate(firsts("weekly", week, 3))]))
    cases.append(case("api-get-no-mappings", "API.get", u"visitors", "weekly", "piwik2", u'{"mappings": {}}',
                      [(first, {u"nb_visits": 10}) for first in firsts("weekly", week, 2)]))
    cases.append(case("data-type-option", "DevicesDetection.getType", u"device-usage", "weekly", "matomo5",
                      u'{"mappings": {"label": "devices", "nb_visits": "sessions"}, "dataType": "devices-override", '
                      u'"idMapping": ["dataType", "_timestamp", "devices"]}',
                      [(week, report_rows(devices))]))
    # Values of every JSON type, non-ASCII labels, floats as Python 2 wrote them, missing id fields.
    odd_rows = [
        {u"label": u"Navigateur \xa9 \u262f", u"nb_visits": 0.1 + 0.2, u"rate": None, u"flag": True},
        {u"label": u"\U0001F600 emoji", u"nb_visits": 1e16, u"rate": u"12.5%", u"flag": False},
        {u"label": u"", u"nb_visits": 2 ** 53 + 1, u"rate": 1234567.123456789, u"flag": None},
        {u"label": u"x:y:z", u"nb_visits": -3, u"rate": 400.0, u"flag": u"0"},
    ]
    cases.append(case("json-types", "DevicesDetection.getBrowserVersions", u"browser-usage", "weekly", "matomo5",
                      u'{"mappings": {"label": "browser", "nb_visits": "sessions", "rate": "rate", "flag": "flag"}, '
                      u'"idMapping": ["browser", "sessions", "rate", "flag", "missing", "timeSpan"]}',
                      [(week, odd_rows)]))
    # Two mappings feeding one name, a mapping onto timeSpan and one onto dataType: Python 2's dict
    # order decides which value wins, as it did.
    cases.append(case("colliding-mappings", "DevicesDetection.getType", u"device-usage", "weekly", "matomo5",
                      u'{"mappings": {"label": "devices", "devices": "kind", "nb_visits": "timeSpan", '
                      u'"nb_actions": "dataType", "max_actions": "kind"}, '
                      u'"idMapping": ["dataType", "timeSpan", "kind", "devices"]}',
                      [(week, [{u"label": u"Desktop", u"devices": u"d", u"nb_visits": 5, u"nb_actions": 7,
                                u"max_actions": 9}])]))
    cases.append(case("string-id-mapping", "Goals.get", u"journey-by-goal", "weekly", "piwik2",
                      u'{"mappings": {"nb_conversions": "count"}, "additionalFields": {"stage": 3}, '
                      u'"idMapping": "stage"}', [(week, goal_object())]))
    cases.append(case("empty-periods", "DevicesDetection.getType", u"device-usage", "weekly", "matomo5",
                      DEVICE_OPTIONS, [(first, [] if i % 2 else report_rows(devices[:2]))
                                       for i, first in enumerate(firsts("weekly", week, 5))]))
    return cases


NAMES = [u"label", u"nb_visits", u"nb_actions", u"nb_conversions", u"nb_visits_converted", u"revenue",
         u"conversion_rate", u"sum_visit_length", u"bounce_count", u"max_actions", u"segment"]
TARGETS = [u"browser", u"devices", u"sessions", u"count", u"converted", u"visits", u"stage", u"rate",
           u"calendarconverted", u"bookingconverted", u"period"]
ADDITIONAL = [u"service_identifier", u"journey_stage", u"event_type", u"event_detail", u"department", u"stage"]


def random_value():
    roll = rng.random()
    if roll < 0.4:
        return rng.randint(0, 10 ** rng.randint(1, 7))
    if roll < 0.55:
        return round(rng.random() * 10 ** rng.randint(0, 6), rng.randint(0, 6))
    if roll < 0.85:
        return rng.choice([u"Chrome 40.0", u"Desktop", u"3.2%", u"", u"\xe9t\xe9", u"a b", u"Safari 8.0"])
    return rng.choice([None, True, False])


def random_case(number):
    frequency = rng.choice(["daily", "weekly", "monthly"])
    form = rng.choice(["piwik2", "matomo5"])
    sources = rng.sample(NAMES, rng.randint(0, 5))
    mappings = [(source, rng.choice(TARGETS)) for source in sources]
    options = [(u"mappings", mappings)]
    if rng.random() < 0.5:
        options.append((u"additionalFields", [(key, rng.choice([u"v", u"pp|x", 7]))
                                               for key in rng.sample(ADDITIONAL, rng.randint(1, 3))]))
    fields = [t for _, t in mappings] + [u"dataType", u"_timestamp", u"timeSpan", u"humanId"]
    if rng.random() < 0.8:
        options.append((u"idMapping", rng.sample(fields, rng.randint(1, min(5, len(fields))))))
    if rng.random() < 0.15:
        options.append((u"dataType", u"override"))
    options_text = u"{" + u", ".join(
        json.dumps(key) + u": " + (u"{" + u", ".join(json.dumps(k) + u": " + json.dumps(v) for k, v in value) + u"}"
                                   if key in (u"mappings", u"additionalFields") else json.dumps(value))
        for key, value in options) + u"}"
    numeric = rng.random() < 0.3
    start = datetime.date(2014, rng.randint(1, 12), 1 if frequency == "monthly" else rng.randint(1, 28))
    if frequency == "weekly":
        start -= datetime.timedelta(days=start.weekday())
    by_first = []
    for first in firsts(frequency, start, rng.randint(1, 4)):
        rows = []
        for _ in range(1 if numeric else rng.randint(0, 4)):
            rows.append(dict((name, random_value()) for name in NAMES))
        by_first.append((first, rows[0] if numeric and rows else rows))
    method = "Goals.get" if numeric else "DevicesDetection.getType"
    return case("random-%d" % number, method, rng.choice([u"device-usage", u"journey"]), frequency, form,
                options_text, by_first)


def realtime_vectors():
    """`piwik.realtime`: the record for a Live.getCounters answer, at a given moment."""
    out = []
    for answer, moment in [
        (u'[{"visits": "3", "actions": "5", "visitors": "2", "visitsConverted": "0"}]',
         datetime.datetime(2015, 2, 16, 12, 0, 1, 0, UTC)),
        (u'[{"visits": 14, "actions": 40, "visitors": 12, "visitsConverted": 1}]',
         datetime.datetime(2024, 6, 3, 9, 41, 7, 0, UTC)),
    ]:
        timestamp = moment.isoformat()
        record = {"_timestamp": timestamp, "_id": timestamp,
                  "unique_visitors": int(json.loads(answer)[0]["visitors"]), "for_url": ""}
        out.append({"answer": answer, "now": timestamp, "record": [[k, enc(v)] for k, v in record.items()]})
    return out


def vectors():
    cases = written_cases()
    number = 0
    while len(cases) < 80:
        cases.append(random_case(number))
        number += 1
    kept = []
    for each in cases:
        options = json.loads(each["options"])
        answer = json.loads(each["answer"])
        made = piwik_records(each["data_type"], each["frequency"], options, answer)
        if any(doc["humanId"] == "" for _, doc in made):
            continue  # an empty _id: pp-collector refuses it
        each["records"] = [{"period": key, "record": [[k, enc(v)] for k, v in doc.items()]} for key, doc in made]
        kept.append(each)
    return kept


print(json.dumps({
    "generator": "tests/vectors/gen_py2_matomo_vectors.py",
    "python": sys.version.split()[0],
    "core": vectors(),
    "realtime": realtime_vectors(),
}, indent=None, sort_keys=True, separators=(",", ":")))
