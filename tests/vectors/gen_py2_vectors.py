# -*- coding: utf-8 -*-
# ruff: noqa
# This script runs under CPython 2.7 only, so Python 3 lint rules do not apply to it.
"""Print the Python 2.7 behaviour that tests/test_py2compat.py checks pp-collector against.

The original pp-collector ran on 64-bit CPython 2.7 with wide (UCS4) unicode and no hash
randomisation; its ids depend on that interpreter's dict/set iteration order and on its
unicode() rendering. Regenerate py2_vectors.json with:

    ~/.pyenv/versions/2.7.18/bin/python tests/vectors/gen_py2_vectors.py > tests/vectors/py2_vectors.json

It is never run by the tests or at run time; the JSON it prints is committed.
"""
from __future__ import print_function

import base64
import datetime
import itertools
import json
import re
import random
import struct
import sys

if sys.version_info[:2] != (2, 7) or sys.maxsize != 2 ** 63 - 1 or sys.maxunicode != 0x10FFFF:
    sys.exit("needs 64-bit CPython 2.7 with wide unicode")
if sys.flags.hash_randomization:
    sys.exit("hash randomisation must be off (unset PYTHONHASHSEED, no -R)")

rng = random.Random(20141013)


class FixedOffset(datetime.tzinfo):
    def __init__(self, minutes):
        self.minutes = minutes

    def utcoffset(self, dt):
        return datetime.timedelta(minutes=self.minutes)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "F%d" % self.minutes


def enc(value):
    """A JSON form of a value that keeps its Python type."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, (int, long)):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": value.hex()}
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
    if isinstance(value, datetime.date):
        return {"t": "date", "v": [value.year, value.month, value.day]}
    if isinstance(value, list):
        return {"t": "list", "v": [enc(v) for v in value]}
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [enc(v) for v in value]}
    if isinstance(value, InsertionOrdered):
        return {"t": "dict", "v": [[k, enc(v)] for k, v in value.pairs]}
    raise TypeError(repr(value))


class InsertionOrdered(object):
    """Pairs to be put into a dict one by one, remembering the order they went in."""

    def __init__(self, pairs):
        self.pairs = pairs

    def build(self):
        d = {}
        for k, v in self.pairs:
            d[k] = build(v)
        return d


def build(value):
    if isinstance(value, InsertionOrdered):
        return value.build()
    if isinstance(value, list):
        return [build(v) for v in value]
    if isinstance(value, tuple):
        return tuple(build(v) for v in value)
    return value


# --- strings -------------------------------------------------------------------------------

GA_NAMES = [
    u"deviceCategory", u"browser", u"browserVersion", u"userType", u"eventCategory",
    u"pagePath", u"pageTitle", u"eventAction", u"keyword", u"eventLabel", u"sourceMedium",
    u"socialNetwork", u"landingPagePath", u"medium", u"source", u"operatingSystem",
    u"operatingSystemVersion", u"searchStartPage", u"searchKeyword", u"visitorType", u"date",
    u"hour", u"day", u"month", u"year", u"customVarValue9", u"customVarValue1", u"dimension9",
    u"dimension2", u"visits", u"sessions", u"users", u"pageviews", u"visitors",
    u"avgSessionDuration", u"uniquePageviews", u"goal1Starts", u"goal1Completions",
    u"timeSpan", u"_timestamp", u"dataType", u"humanId", u"_id", u"department", u"rank",
    u"period", u"count", u"stage", u"journey_stage", u"service_identifier", u"event_type",
    u"event_detail", u"eventType", u"eventDetail", u"website", u"delivery_stage",
]
GA_NAMES += [u"ga:" + n for n in GA_NAMES[:20]]

ALPHABET = u"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:. "


def random_char(wide):
    roll = rng.random()
    if not wide or roll < 0.6:
        return rng.choice(ALPHABET)
    if roll < 0.75:
        return unichr(rng.randint(0x80, 0x7FF))
    if roll < 0.9:
        c = rng.randint(0x800, 0xFFFD)
        while 0xD800 <= c <= 0xDFFF:
            c = rng.randint(0x800, 0xFFFD)
        return unichr(c)
    return unichr(rng.randint(0x10000, 0x10FFFF))


def random_text(wide=False, max_len=16):
    return u"".join(random_char(wide) for _ in range(rng.randint(0, max_len)))


def random_control_text():
    pool = u"ab'\"\\\t\n\r\x00\x1f\x7f\x80\xe9\xff\u0100\u20ac\ufffd" + unichr(0x1F600)
    return u"".join(rng.choice(pool) for _ in range(rng.randint(0, 8)))


# --- hashes --------------------------------------------------------------------------------

def hash_vectors():
    texts = [u"", u"a", u"date", u"datetime", u"browser", u"browserVersion", u"\xe9",
             u"\u20ac", unichr(0x1F600), u"ga:visits", u"\x00", u"a" * 100]
    texts += [random_text(wide=True) for _ in range(100)]
    return [[t, hash(t)] for t in texts]


# --- dict and set orders -------------------------------------------------------------------

def gapy_dimensions(names):
    """gapy: dict(zip(names, values)), then 'datetime' when there is a 'date'."""
    d = dict(zip(names, [u"x"] * len(names)))
    inserted = list(names)
    if "date" in d:
        d["datetime"] = datetime.datetime(2013, 4, 1)
        inserted.append("datetime")
    return inserted, list(d)


def sequential(keys):
    d = {}
    for k in keys:
        d[k] = 1
    return list(d)


def dict_order_vectors():
    cases = []
    for _ in range(300):
        names = rng.sample(GA_NAMES, rng.randint(1, 6))
        if rng.random() < 0.3 and u"date" not in names:
            names.insert(rng.randint(0, len(names)), u"date")
        if rng.random() < 0.1:
            names.append(rng.choice(names))  # a repeated name keeps its first place
        inserted, order = gapy_dimensions(names)
        cases.append({"keys": [unicode(k) for k in inserted], "order": order})
    for _ in range(150):
        keys = [random_text(max_len=10) for _ in range(rng.randint(0, 30))]
        cases.append({"keys": keys, "order": sequential(keys)})
    for _ in range(100):
        keys = [random_text(wide=True, max_len=6) for _ in range(rng.randint(1, 14))]
        cases.append({"keys": keys, "order": sequential(keys)})
    for size in (5, 6, 7, 21, 22, 85, 86, 200, 1000):
        keys = [u"k%d" % i for i in range(size)]
        rng.shuffle(keys)
        cases.append({"keys": keys, "order": sequential(keys)})
    return cases


def set_difference_vectors():
    """AggregateKey's `set(first) - set(aggregate_keys)`, with `first` built key by key."""
    cases = []
    for _ in range(200):
        pool = GA_NAMES if rng.random() < 0.5 else [random_text(max_len=8) for _ in range(30)]
        keys = rng.sample(pool, rng.randint(1, min(len(pool), rng.choice([4, 8, 12, 25]))))
        d = {}
        for k in keys:
            d[k] = 1
        removed = rng.sample(keys, rng.randint(0, min(3, len(keys))))
        if rng.random() < 0.3:
            removed.append(u"not-a-key")
        cases.append({
            "keys": keys,
            "removed": removed,
            "set_order": list(set(d)),
            "difference_order": list(set(d) - set(removed)),
        })
    return cases


# --- rendering -----------------------------------------------------------------------------

def random_float():
    roll = rng.random()
    if roll < 0.3:
        return rng.random() * 10 ** rng.randint(-25, 25) * rng.choice([1, -1])
    if roll < 0.5:
        value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        return value if value == value else 1.5
    if roll < 0.7:
        return float(rng.randint(0, 10 ** rng.randint(0, 18))) * rng.choice([1, -1])
    if roll < 0.85:
        return round(rng.random() * 10 ** rng.randint(0, 14), rng.randint(0, 14))
    return float(u"%d.%de%d" % (rng.randint(0, 999999), rng.randint(0, 99999999),
                                 rng.randint(-8, 16)))


SPECIAL_FLOATS = [
    0.0, -0.0, 0.1 + 0.2, 1234567.123456789, 1e16, 400.0, 1e11, 1e12, 99999999999.0,
    999999999999.0, 123456789012.0, 12345678901.5, 0.0001, 0.00001, 0.000099999999999999,
    9.9999999999995, 99999999999.95, 999999999999.5, 0.1, 1.0 / 3, 2.0 / 3, 1e-300, 5e-324,
    1.7976931348623157e308, float("inf"), float("-inf"), float("nan"), 2313.13, 23.4, 0.5,
    1e22, 123456789.123456789, 400000.0, 1234000.0,
]


def tie_floats():
    """Whole numbers of 13 to 15 digits whose 13th digit onward is (nearly) a half: Python 2's
    dtoa then leaves trailing zeros in the 12 digits it keeps."""
    out = []
    for k in (12, 13, 14):
        unit = 10 ** (k - 11)
        for _ in range(80):
            prefix = rng.randint(10 ** 11, 10 ** 12 - 1)
            if rng.random() < 0.5:
                zeros = 10 ** rng.randint(1, 10)
                prefix = max(prefix // zeros * zeros, 10 ** 11)
            offset = unit // 2 + rng.choice([0, 0, 0, -1, 1, -2, 2, -3, 3, -unit // 2, unit // 3])
            out.append(float(prefix * unit + offset) * rng.choice([1, -1]))
    return out


def scalar():
    roll = rng.random()
    if roll < 0.15:
        return random_text(wide=True)
    if roll < 0.25:
        return random_control_text()
    if roll < 0.4:
        # int() turns a long back into an int where it fits, as json.loads does.
        return int(rng.choice([0, 1, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1,
                               10 ** 30, rng.randint(-10 ** 6, 10 ** 6)]))
    if roll < 0.6:
        return random_float()
    if roll < 0.65:
        return rng.choice([None, True, False])
    if roll < 0.8:
        tz = rng.choice([None, FixedOffset(0), FixedOffset(60), FixedOffset(-330)])
        return datetime.datetime(rng.randint(1900, 2030), rng.randint(1, 12), rng.randint(1, 28),
                                 rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                                 rng.choice([0, 0, rng.randint(0, 999999)]), tz)
    return datetime.date(rng.randint(1900, 2030), rng.randint(1, 12), rng.randint(1, 28))


def container(depth):
    """JSON-like containers (what a query file's additionalFields can hold)."""
    def item():
        if depth > 0 and rng.random() < 0.3:
            return container(depth - 1)
        value = scalar()
        while isinstance(value, (datetime.date, datetime.datetime)):
            value = scalar()
        return value

    roll = rng.random()
    if roll < 0.45:
        return [item() for _ in range(rng.randint(0, 4))]
    if roll < 0.55:
        return tuple(item() for _ in range(rng.randint(0, 3)))
    keys = [random_text(wide=rng.random() < 0.3, max_len=6) for _ in range(rng.randint(0, 9))]
    return InsertionOrdered([(k, item()) for k in keys])


def rendering_vectors():
    values = list(SPECIAL_FLOATS)
    values += [random_float() for _ in range(600)]
    values += tie_floats()
    values += [scalar() for _ in range(400)]
    values += [container(2) for _ in range(80)]
    values += [
        datetime.datetime(2013, 4, 1), datetime.datetime(2014, 10, 30, 13, 0, 0, 0, FixedOffset(0)),
        datetime.date(2013, 1, 2), None, True, False, [u"a", 1, 2 ** 64, 1.1, None, True],
    ]
    out = []
    for value in values:
        built = build(value)
        rendered = unicode(built)
        # ComputeIdFrom renders with u"{0!s}".format(), DataParser with unicode(): one function
        # serves both only because they agree.
        if u"{0!s}".format(built) != rendered:
            sys.exit("unicode() and {0!s} disagree on %r" % (built,))
        out.append({"value": enc(value), "unicode": rendered})
    return out


# --- ordering (AggregateKey sorts its groups with Python 2 comparisons) ---------------------

def sort_vectors():
    def element():
        roll = rng.random()
        if roll < 0.1:
            return None
        if roll < 0.2:
            return rng.choice([True, False])
        if roll < 0.4:
            return rng.randint(-3, 3)
        if roll < 0.55:
            return rng.choice([0.5, -1.5, 2.0, 1e10])
        if roll < 0.8:
            return rng.choice([u"", u"a", u"b", u"ab", u"B", u"\xe9"])
        if roll < 0.9:
            return [rng.randint(0, 2) for _ in range(rng.randint(0, 2))]
        return tuple(rng.randint(0, 2) for _ in range(rng.randint(0, 2)))

    cases = []
    for _ in range(100):
        width = rng.randint(1, 3)
        rows = [tuple(element() for _ in range(width)) for _ in range(rng.randint(1, 12))]
        order = sorted(range(len(rows)), key=lambda i: rows[i])
        cases.append({"rows": [enc(r) for r in rows], "order": order})
    return cases


# --- whole records (DataParser semantics, written here from the behaviour reference) ---------

UTC = FixedOffset(0)
DIMENSION_POOL = [u"browser", u"browserVersion", u"deviceCategory", u"eventCategory",
                  u"eventAction", u"eventLabel", u"pagePath", u"pageTitle", u"date", u"hour",
                  u"customVarValue9", u"userType", u"ga:source", u"visits"]
METRIC_POOL = [u"visits", u"sessions", u"users", u"pageviews", u"avgSessionDuration",
               u"ga:avgSessionDuration", u"goal1Starts", u"bounceRate", u"browser"]
FIELD_POOL = DIMENSION_POOL + METRIC_POOL + [u"dataType", u"timeSpan", u"_timestamp",
                                             u"department", u"period", u"count", u"stage",
                                             u"humanId"]


def ordered(pairs):
    """A dict filled pair by pair, as json.load fills one from a file."""
    d = {}
    for k, v in pairs:
        d[k] = v
    return d


def ga_number(raw):
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    raise ValueError(raw)


def raw_metric():
    return rng.choice([u"12", u"0", u"400.0", u"2313.13", u"1234", u"%d" % rng.randint(0, 99999),
                       u"%.3f" % (rng.random() * 100)])


def dimension_value(name):
    if name == u"date":
        return u"201304%02d" % rng.randint(1, 28)
    if name == u"hour":
        return u"%02d" % rng.randint(0, 23)
    return rng.choice([u"Chrome", u"UC Browser", u"9.4.1.482", u"a:b:c", u"first:second",
                       u"<D1>", u"", u"\xa9 \u262f", u"mobile", u"x:y"])


def record_case():
    dims = rng.sample(DIMENSION_POOL, rng.randint(0, 4))
    metrics = rng.sample(METRIC_POOL, rng.randint(1, 3))
    additional = [(k, rng.choice([u"v1", u"v2", u"pp|service"]))
                  for k in rng.sample(FIELD_POOL, rng.randint(0, 3))]
    mappings = []
    for _ in range(rng.randint(0, 4)):
        source = rng.choice(FIELD_POOL)
        if rng.random() < 0.3:
            source = u"%s_%d" % (rng.choice(dims or [u"browser"]), rng.randint(0, 3))
        mappings.append((source, rng.choice([u"count", u"name", u"stage", u"period", source + u"X"])))
    options = []
    if additional or rng.random() < 0.5:
        options.append((u"additionalFields", additional))
    if mappings or rng.random() < 0.5:
        options.append((u"mappings", mappings))
    present = dims + metrics + [k for k, _ in additional] + [u"_timestamp", u"dataType", u"timeSpan"]
    id_pool = present + [rng.choice(FIELD_POOL)]
    roll = rng.random()
    if roll < 0.35:
        options.append((u"idMapping", rng.sample(id_pool, rng.randint(1, min(4, len(id_pool))))))
    elif roll < 0.45:
        options.append((u"idMapping", rng.choice(id_pool)))
    if rng.random() < 0.2:
        options.append((u"dataType", u"override"))
    rows = []
    for _ in range(rng.randint(1, 3)):
        rows.append({
            "start_date": datetime.date(2014, rng.randint(1, 12), rng.randint(1, 28)),
            "dimensions": [(d, dimension_value(d)) for d in dims],
            "metrics": [(m, raw_metric()) for m in metrics],
        })
    return {
        "data_type": rng.choice([u"browsers", u"journey"]),
        "time_span": rng.choice([u"day", u"week", u"month"]),
        "options": options,
        "rows": rows,
    }


def py2_records(case):
    options = dict(case["options"])
    additional = ordered(options.get(u"additionalFields", []))
    mappings = ordered(options.get(u"mappings", []))
    id_mapping = options.get(u"idMapping")
    data_type = options.get(u"dataType", case["data_type"])
    out = []
    for row in case["rows"]:
        # gapy's row
        names = [n for n, _ in row["dimensions"]]
        dimensions = dict(zip(names, [v for _, v in row["dimensions"]]))
        if "date" in dimensions:
            if "hour" in dimensions:
                dimensions["datetime"] = datetime.datetime.strptime(
                    dimensions["date"] + dimensions["hour"], "%Y%m%d%H")
            else:
                dimensions["datetime"] = datetime.datetime.strptime(dimensions["date"], "%Y%m%d")
        metrics = dict(row["metrics"])
        # ga/core.py: convert, then add timeSpan
        converted = [(k, ga_number(v)) for k, v in metrics.items()]
        converted = [(k, v * 1000 if k == "avgSessionDuration" and v else v) for k, v in converted]
        special = dict(dict(converted).items() + [("timeSpan", case["time_span"])])
        timestamp = datetime.datetime.combine(row["start_date"], datetime.time(0)).replace(tzinfo=UTC)
        base = {"_timestamp": timestamp, "dataType": data_type}
        doc = dict(base.items() + additional.items() + dimensions.items() + special.items())
        renamed = dict((mappings.get(k, k), v) for k, v in doc.items())
        split = {}
        for source, target in mappings.items():
            match = re.search(r"^(.*)_(\d*)$", source)
            if match:
                value = doc.get(match.group(1))
                if value is None:
                    continue
                parts = value.split(":")
                if int(match.group(2)) < len(parts):
                    split[target] = parts[int(match.group(2))]
        doc = dict(renamed.items() + split.items())
        if id_mapping is not None:
            keys = id_mapping if isinstance(id_mapping, list) else [id_mapping]
            human = u"".join(unicode(doc.get(k, u"")) for k in keys)
        else:
            stamp = timestamp.strftime("%Y%m%d%H%M%S")
            slugs = [data_type, stamp, doc.get("timeSpan")] + map(unicode, dimensions.values())
            human = u"_".join(s for s in slugs if s is not None)
        doc["humanId"] = human
        doc["_id"] = base64.urlsafe_b64encode(human.encode("utf-8"))
        out.append([[k, enc(v if not isinstance(v, str) else v.decode("utf-8"))]
                    for k, v in doc.items()])
    return out


def record_vectors():
    cases = []
    while len(cases) < 120:
        case = record_case()
        try:
            records = py2_records(case)
        except (AttributeError, ValueError):
            continue  # a split of a non-string, or a bare "_" index: errors, not vectors
        if any(dict(record)["_id"] == {"t": "str", "v": u""} for record in records):
            continue  # an empty _id: pp-collector refuses it
        cases.append({
            "data_type": case["data_type"],
            "time_span": case["time_span"],
            "options": case["options"],
            "rows": [{"start_date": [r["start_date"].year, r["start_date"].month,
                                     r["start_date"].day],
                      "dimensions": r["dimensions"], "metrics": r["metrics"]}
                     for r in case["rows"]],
            "records": records,
        })
    return cases


def aggregate_vectors():
    """AggregateKey: group on every other key of the first doc, sorted, first of each group."""
    cases = []
    for _ in range(60):
        keys = rng.sample(FIELD_POOL, rng.randint(1, 6))
        counted = rng.sample(METRIC_POOL[:4], rng.randint(1, 2))
        rate = rng.random() < 0.4
        docs = []
        for _ in range(rng.randint(1, 8)):
            pairs = [(k, rng.choice([u"a", u"b", 1, 2, None, 0.5])) for k in keys]
            pairs += [(k, rng.randint(1, 50)) for k in counted]
            if rate:
                pairs.append((u"rate", rng.choice([0.25, 0.5, 0.75, 0.1])))
            docs.append(pairs)
        aggregations = [[u"count", k] for k in counted]
        if rate:
            aggregations.append([u"rate", u"rate", counted[0]])
        built = [ordered(pairs) for pairs in docs]
        aggregated = set(a[1] for a in aggregations)
        group_keys = set(built[0]) - aggregated

        def key(doc):
            return tuple(doc[k] for k in group_keys)

        out = []
        for _, group in itertools.groupby(sorted(built, key=key), key=key):
            group = list(group)
            new = dict(group[0])
            for aggregation in aggregations:
                if aggregation[0] == u"count":
                    new[aggregation[1]] = sum(d[aggregation[1]] for d in group)
                else:
                    total = sum(d[aggregation[2]] for d in group)
                    new[aggregation[1]] = (sum(d[aggregation[1]] * d[aggregation[2]] for d in group)
                                           / float(total))
            out.append(dict((k, enc(v)) for k, v in new.items()))
        cases.append({
            "docs": [[[k, enc(v)] for k, v in pairs] for pairs in docs],
            "aggregations": aggregations,
            "group_key_order": list(group_keys),
            "result": out,
        })
    return cases


print(json.dumps({
    "generator": "tests/vectors/gen_py2_vectors.py",
    "python": sys.version.split()[0],
    "hash": hash_vectors(),
    "dict_order": dict_order_vectors(),
    "set_difference": set_difference_vectors(),
    "rendering": rendering_vectors(),
    "sort": sort_vectors(),
    "records": record_vectors(),
    "aggregate": aggregate_vectors(),
}, indent=None, sort_keys=True, separators=(",", ":")))
