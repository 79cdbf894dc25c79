"""A contributor-style collector for CLI tests: records what `pp-collector` passed to it.

It writes its arguments as JSON to the path in `query["record_to"]`, then scribbles over every
argument it was given, so tests can check that the loaded configs did not change.
"""

import json


def main(credentials, data_set_config, query, options, start_at, end_at):
    with open(query["record_to"], "w") as output:
        json.dump(
            {
                "credentials": credentials,
                "data_set_config": data_set_config,
                "query": query,
                "options": options,
                "start_at": start_at.isoformat() if start_at else None,
                "end_at": end_at.isoformat() if end_at else None,
            },
            output,
        )
    if query.get("then") == "crash":
        raise RuntimeError("the recorder was told to crash")
    for argument in (credentials, data_set_config, query, options):
        argument["scribbled"] = True
