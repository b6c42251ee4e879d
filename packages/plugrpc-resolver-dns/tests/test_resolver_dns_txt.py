"""Service configs in TXT records (gRFC A2): record choice and choice selection, no sockets."""

from __future__ import annotations

import json

import pytest
from plugrpc_resolver_dns import (
    CLIENT_LANGUAGE,
    TXT_ATTRIBUTE,
    choose_service_config,
    grpc_config_value,
    txt_record_name,
)

CONFIG_A = {"loadBalancingConfig": [{"round_robin": {}}]}
CONFIG_B = {"methodConfig": [{"name": [{}], "timeout": "2s"}]}


def choose(choices: object, *, hostname: str = "client-1", roll: int = 0) -> object:
    return choose_service_config(json.dumps(choices), hostname=hostname, roll=roll)


# -- the record ----------------------------------------------------------------------------


def test_record_name_and_constants() -> None:
    assert txt_record_name("svc.example.com") == "_grpc_config.svc.example.com"
    assert txt_record_name("svc.example.com.") == "_grpc_config.svc.example.com."
    assert TXT_ATTRIBUTE == "grpc_config="
    assert CLIENT_LANGUAGE == "python"


def test_split_strings_of_one_record_are_joined() -> None:
    value = json.dumps([{"serviceConfig": CONFIG_A}])
    text = (TXT_ATTRIBUTE + value).encode()
    # RFC 1035: at most 255 bytes per string; here 7-byte pieces, split inside the attribute.
    strings = tuple(text[i : i + 7] for i in range(0, len(text), 7))
    assert len(strings) > 3
    assert grpc_config_value([strings]) == value


def test_the_first_grpc_config_record_wins_and_others_are_ignored() -> None:
    records = [
        (b"v=spf1 -all",),
        (b"grpc_", b"config=[1]"),
        (b"grpc_config=[2]",),
    ]
    assert grpc_config_value(records) == "[1]"


@pytest.mark.parametrize(
    "records",
    [[], [(b"v=spf1 -all",)], [(b"GRPC_CONFIG=[]",)], [(b"grpc_config",)], [(b" grpc_config=[]",)]],
)
def test_no_grpc_config_record_means_no_config(records: list[tuple[bytes, ...]]) -> None:
    assert grpc_config_value(records) is None


def test_an_empty_value_is_returned_as_is() -> None:
    assert grpc_config_value([(b"grpc_config=",)]) == ""


def test_a_record_that_is_not_text_is_invalid() -> None:
    with pytest.raises(ValueError, match="not ASCII text"):
        grpc_config_value([(b"grpc_config=\xff\xfe",)])


# -- choosing ----------------------------------------------------------------------------


def test_a_choice_without_criteria_matches() -> None:
    assert choose([{"serviceConfig": CONFIG_A}]) == CONFIG_A


def test_the_first_matching_choice_wins() -> None:
    choices = [
        {"clientLanguage": ["go"], "serviceConfig": CONFIG_A},
        {"serviceConfig": CONFIG_B},
        {"serviceConfig": CONFIG_A},
    ]
    assert choose(choices) == CONFIG_B


@pytest.mark.parametrize(
    ("languages", "matches"),
    [
        (["python"], True),
        (["PYTHON"], True),
        (["Python", "go"], True),
        (["go", "java", "c++"], False),
        ([], True),  # empty matches every client (A2)
    ],
)
def test_client_language_is_case_insensitive(languages: list[str], matches: bool) -> None:
    result = choose([{"clientLanguage": languages, "serviceConfig": CONFIG_A}])
    assert (result == CONFIG_A) is matches


def test_the_language_token_can_be_given() -> None:
    value = json.dumps([{"clientLanguage": ["GO"], "serviceConfig": CONFIG_A}])
    assert choose_service_config(value, hostname="h", roll=0, language="go") == CONFIG_A
    assert choose_service_config(value, hostname="h", roll=0) is None


@pytest.mark.parametrize(
    ("hostnames", "matches"),
    [(["client-1"], True), (["other", "client-1"], True), (["CLIENT-1"], False), ([], True)],
)
def test_client_hostname_matches_exactly(hostnames: list[str], matches: bool) -> None:
    result = choose([{"clientHostname": hostnames, "serviceConfig": CONFIG_A}])
    assert (result == CONFIG_A) is matches


@pytest.mark.parametrize(
    ("percentage", "roll", "matches"),
    [
        (0, 0, False),
        (1, 0, True),
        (1, 1, False),
        (50, 49, True),
        (50, 50, False),
        (100, 99, True),
        (100, 0, True),
    ],
)
def test_percentage_selects_clients_whose_roll_is_below_it(
    percentage: int, roll: int, matches: bool
) -> None:
    result = choose([{"percentage": percentage, "serviceConfig": CONFIG_A}], roll=roll)
    assert (result == CONFIG_A) is matches


def test_percentage_selects_that_share_of_all_rolls() -> None:
    choices = json.dumps([{"percentage": 30, "serviceConfig": CONFIG_A}])
    chosen = sum(
        choose_service_config(choices, hostname="h", roll=roll) is not None for roll in range(100)
    )
    assert chosen == 30


def test_every_criterion_must_match() -> None:
    choice = {
        "clientLanguage": ["python"],
        "clientHostname": ["client-1"],
        "percentage": 50,
        "serviceConfig": CONFIG_A,
    }
    assert choose([choice], roll=10) == CONFIG_A
    assert choose([choice], roll=60) is None
    assert choose([choice], hostname="client-2", roll=10) is None
    assert choose([{**choice, "clientLanguage": ["go"]}], roll=10) is None


def test_no_matching_choice_and_an_empty_list_mean_no_config() -> None:
    assert choose([{"clientLanguage": ["go"], "serviceConfig": CONFIG_A}]) is None
    assert choose([]) is None


def test_the_service_config_is_returned_unvalidated() -> None:
    # Validating it as a service config is the resolver's next step (parse_service_config).
    odd = {"methodConfig": "not a list"}
    assert choose([{"serviceConfig": odd}]) == odd


# -- invalid records (A2: the whole record is discarded) ------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not valid JSON"),
        ("[{", "not valid JSON"),
        ('[{"serviceConfig": {"x": NaN}}]', "not valid JSON"),
        ('{"serviceConfig": {}}', "must be a JSON list of choices, got dict"),
        ("[1]", "choice 0 must be a JSON object"),
        ('[{"serviceConfig": {}, "clientLanguages": ["go"]}]', "unknown field 'clientLanguages'"),
        ("[{}]", "serviceConfig must be a JSON object, got None"),
        ('[{"serviceConfig": "{}"}]', "serviceConfig must be a JSON object"),
        ('[{"serviceConfig": [], "percentage": 5}]', "serviceConfig must be a JSON object"),
        ('[{"serviceConfig": {}, "clientLanguage": "python"}]', "must be a list of strings"),
        ('[{"serviceConfig": {}, "clientLanguage": [1]}]', "must be a list of strings"),
        ('[{"serviceConfig": {}, "clientLanguage": null}]', "must be a list of strings"),
        ('[{"serviceConfig": {}, "clientHostname": "h"}]', "must be a list of strings"),
        ('[{"serviceConfig": {}, "percentage": 101}]', "integer 0-100, got 101"),
        ('[{"serviceConfig": {}, "percentage": -1}]', "integer 0-100, got -1"),
        ('[{"serviceConfig": {}, "percentage": 50.0}]', "integer 0-100, got 50.0"),
        ('[{"serviceConfig": {}, "percentage": "50"}]', "integer 0-100"),
        ('[{"serviceConfig": {}, "percentage": true}]', "integer 0-100, got True"),
    ],
)
def test_invalid_records_are_rejected(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        choose_service_config(value, hostname="h", roll=0)


def test_a_bad_choice_after_the_matching_one_still_invalidates_the_record() -> None:
    choices = [{"serviceConfig": CONFIG_A}, {"serviceConfig": CONFIG_B, "bogus": 1}]
    with pytest.raises(ValueError, match="choice 1: unknown field 'bogus'"):
        choose(choices)
