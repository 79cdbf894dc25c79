"""The files a run is given, checked as they are loaded: what reaches a URL or a collector is sound."""

from __future__ import annotations

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.stagecraft import StagecraftStandIn
from tests.support.backdrop import TOKEN
from tests.support.cli import ConfigFiles, run_cli

GATED = "tests.collectors.gated"
A_RECORD = {"_timestamp": "2024-06-01T00:00:00+00:00", "_id": "one", "count": 1}


@pytest.mark.parametrize("key", ["data-group", "data-type"])
@pytest.mark.parametrize("name", ["My Service", "../collector", "a/b", "UPPER", "", "%2e%2e", "tab\tname"])
def test_a_data_set_name_backdrop_would_not_have_is_refused_before_any_request(
    configs: ConfigFiles, backdrop: BackdropStandIn, key: str, name: str
) -> None:
    data_set = {"data_group": "group", "data_type": "type", key.replace("-", "_"): name}
    query = configs.query(GATED, {"records": [A_RECORD]}, data_group=data_set["data_group"],
                          data_type=data_set["data_type"])
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"), token=configs.token(TOKEN))

    for flags in ([], ["--check"]):
        result = run_cli([*argv, *flags])
        assert result.exit_code == 2
        (line,) = result.stderr.splitlines()
        assert f"query file {query}: key 'data-set.{key}': " in line
        assert "lower-case letters, digits, '-' and '_'" in line or "non-empty string" in line
    assert backdrop.requests == []


def test_a_data_set_name_from_stagecraft_is_checked_as_one_from_a_file(
    configs: ConfigFiles, backdrop: BackdropStandIn
) -> None:
    with StagecraftStandIn(token="omniscient") as stagecraft:
        stagecraft.add_collector("bad", entry_point=GATED, data_group="../collector", data_type="realtime",
                                 query={"records": [A_RECORD]}, options=None)
        backdrop_file = configs.backdrop(f"{backdrop.url}/data", stagecraft_url=stagecraft.url,
                                         omniscient_api_token="omniscient")
        result = run_cli(["-l", "bad", "-c", str(configs.credentials()), "-t", str(configs.token(TOKEN)),
                          "-b", str(backdrop_file), "--log-dir", str(configs.log_dir)])
    assert result.exit_code == 2
    assert "Stagecraft collector 'bad': key 'data-set.data-group': expected a Backdrop name" in result.stderr
    assert backdrop.requests == []


def test_the_push_url_is_the_base_and_the_two_names(configs: ConfigFiles, backdrop: BackdropStandIn) -> None:
    backdrop.add_data_set("my-service_2", "realtime", TOKEN)
    query = configs.query(GATED, {"records": [{**A_RECORD, "for_url": "", "unique_visitors": 1}]},
                          data_group="my-service_2", data_type="realtime")

    result = run_cli(configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data/"),
                                  token=configs.token(TOKEN)))

    assert result.exit_code == 0, result.stderr
    assert [request.path for request in backdrop.requests] == ["/data/my-service_2/realtime"]
