"""Service-config parsing: every rule of census section 4, table-driven, plus good configs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from plugrpc_core import (
    Balancer,
    HedgingPolicy,
    MethodConfig,
    MethodName,
    RetryPolicy,
    RetryThrottling,
    ServiceConfig,
    ServiceConfigError,
    StatusCode,
    parse_service_config,
    select_lb_policy,
)
from plugrpc_core.plugins import Registry


class _Base(Balancer):
    def update_state(self, state: Any, config: Any) -> None:
        pass

    def resolver_error(self, error: str) -> None:
        pass

    def close(self) -> None:
        pass


class PickFirst(_Base):
    name = "pick_first"

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> Any:
        config = super().parse_config(config)
        shuffle = config.get("shuffleAddressList", False)
        if not isinstance(shuffle, bool):
            raise ValueError("shuffleAddressList must be a boolean")
        return {"shuffle": shuffle}


class RoundRobin(_Base):
    name = "round_robin"


class Parent(_Base):
    """A policy with a child, the way outlier_detection or grpclb nest one."""

    name = "parent_policy"

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> Any:
        config = super().parse_config(config)
        return ("parent", select_lb_policy(config.get("childPolicy")))


def registry() -> Registry[Balancer]:
    reg: Registry[Balancer] = Registry(
        kind="balancer",
        hook_name="plugrpc_register_balancers",
        key_attr="name",
        bases=(Balancer,),
        lock=threading.RLock(),
        collect=lambda hook: [],
        skipped=list,
        install_prefix="plugrpc-balancer-",
        hints={"ring_hash_experimental": "plugrpc-balancer-ring-hash"},
    )
    for cls in (PickFirst, RoundRobin, Parent):
        reg.register(cls)
    return reg


BALANCERS = registry()


def parse(doc: Any, **kwargs: Any) -> ServiceConfig:
    raw = doc if isinstance(doc, str) else json.dumps(doc)
    return parse_service_config(raw, balancers=BALANCERS, **kwargs)


def method(**fields: Any) -> dict[str, Any]:
    return {"methodConfig": [{"name": [{"service": "pkg.Svc"}], **fields}]}


RETRY = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def retry(**changes: Any) -> dict[str, Any]:
    policy = {**RETRY, **changes}
    return method(retryPolicy={k: v for k, v in policy.items() if v is not ...})


# -- good configs ---------------------------------------------------------------------------


def test_the_census_example_parses_completely():
    doc = {
        "loadBalancingConfig": [{"ring_hash_experimental": {}}, {"round_robin": {}}],
        "loadBalancingPolicy": "pick_first",
        "methodConfig": [
            {
                "name": [
                    {"service": "pkg.Service", "method": "Method"},
                    {"service": "pkg.Other"},
                    {},
                ],
                "waitForReady": True,
                "timeout": "2.5s",
                "maxRequestMessageBytes": 1048576,
                "maxResponseMessageBytes": "4194304",
                "retryPolicy": {**RETRY, "retryableStatusCodes": ["UNAVAILABLE", 4]},
            }
        ],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        "healthCheckConfig": {"serviceName": ""},
        "someFutureField": {"ignored": True},
    }
    config = parse(doc)
    assert config.load_balancing_policy == "round_robin"
    assert config.load_balancing_config == {}
    (mc,) = config.method_configs
    assert mc == MethodConfig(
        names=(
            MethodName(service="pkg.Service", method="Method"),
            MethodName(service="pkg.Other"),
            MethodName(),
        ),
        wait_for_ready=True,
        timeout=2.5,
        max_request_message_bytes=1048576,
        max_response_message_bytes=4194304,
        retry_policy=RetryPolicy(
            max_attempts=4,
            initial_backoff=0.1,
            max_backoff=1.0,
            backoff_multiplier=2.0,
            retryable_status_codes=frozenset(
                {StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED}
            ),
        ),
    )
    assert config.retry_throttling == RetryThrottling(max_tokens=10.0, token_ratio=0.1)
    assert config.health_check_service_name == ""
    assert config.raw == doc


def test_empty_object_is_the_empty_config():
    config = parse({})
    assert config == ServiceConfig()
    assert config.load_balancing_policy is None
    assert config.method_config("/a.B/C") is None
    assert config.health_check_service_name is None


def test_text_bytes_and_mapping_inputs_parse_alike():
    doc = method(timeout="1s", waitForReady=False)
    from_text = parse_service_config(json.dumps(doc), balancers=BALANCERS)
    from_bytes = parse_service_config(json.dumps(doc).encode(), balancers=BALANCERS)
    from_dict = parse_service_config(doc, balancers=BALANCERS)
    assert from_text == from_bytes == from_dict
    assert from_dict.raw == doc
    assert from_dict.raw is not doc  # detached from the caller's object


def test_null_fields_mean_unset():
    doc = {
        "loadBalancingConfig": None,
        "methodConfig": [{"name": [{"service": "s", "method": None}], "timeout": None}],
        "retryThrottling": None,
        "healthCheckConfig": None,
    }
    config = parse(doc)
    assert config.method_configs[0].timeout is None
    assert config.method_configs[0].names == (MethodName(service="s"),)
    assert config.retry_throttling is None


def test_method_config_lookup_order_exact_service_default():
    doc = {
        "methodConfig": [
            {"name": [{"service": "pkg.Svc", "method": "Exact"}], "timeout": "1s"},
            {"name": [{"service": "pkg.Svc"}], "timeout": "2s"},
            {"name": [{}], "timeout": "3s"},
            {"name": [{"service": "other.Svc", "method": "M"}], "timeout": "4s"},
        ]
    }
    config = parse(doc)
    assert config.method_config("/pkg.Svc/Exact").timeout == 1.0
    assert config.method_config("/pkg.Svc/Other").timeout == 2.0
    assert config.method_config("/other.Svc/Else").timeout == 3.0
    assert config.method_config("/other.Svc/M").timeout == 4.0
    assert config.method_config("/unrelated.Svc/X").timeout == 3.0


def test_lookup_without_a_default_returns_none():
    config = parse(method(timeout="1s"))
    assert config.method_config("/pkg.Svc/Any").timeout == 1.0
    assert config.method_config("/pkg.Other/Any") is None
    assert config.method_config("/pkg.Svc") is None


def test_method_config_without_name_is_skipped():
    config = parse({"methodConfig": [{"timeout": "1s"}, {"name": [], "timeout": "2s"}]})
    assert len(config.method_configs) == 1
    assert config.method_configs[0].names == ()
    assert config.method_config("/a.B/C") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("0s", 0.0),
        ("0.000000001s", 1e-9),
        ("2.123456789s", 2.123456789),
        ("315576000000s", 315576000000.0),
    ],
)
def test_durations(text, seconds):
    assert parse(method(timeout=text)).method_configs[0].timeout == pytest.approx(seconds)


def test_retry_max_attempts_is_capped_at_five():
    assert parse(retry(maxAttempts=9)).method_configs[0].retry_policy.max_attempts == 5
    assert parse(retry(maxAttempts=2)).method_configs[0].retry_policy.max_attempts == 2
    capped = parse(retry(maxAttempts=9), max_attempts=3)
    assert capped.method_configs[0].retry_policy.max_attempts == 3


def test_hedging_policy():
    config = parse(method(hedgingPolicy={"maxAttempts": 7, "hedgingDelay": "0.5s"}))
    assert config.method_configs[0].hedging_policy == HedgingPolicy(
        max_attempts=5, hedging_delay=0.5, non_fatal_status_codes=frozenset()
    )
    config = parse(method(hedgingPolicy={"maxAttempts": 2, "nonFatalStatusCodes": [14, "ABORTED"]}))
    policy = config.method_configs[0].hedging_policy
    assert policy.hedging_delay == 0.0
    assert policy.non_fatal_status_codes == {StatusCode.UNAVAILABLE, StatusCode.ABORTED}


@pytest.mark.parametrize(("given", "kept"), [(0.1, 0.1), (0.1239, 0.123), (1, 1.0), (2.5, 2.5)])
def test_token_ratio_keeps_three_decimals(given, kept):
    config = parse({"retryThrottling": {"maxTokens": 1000, "tokenRatio": given}})
    assert config.retry_throttling == RetryThrottling(max_tokens=1000.0, token_ratio=kept)


def test_message_sizes_accept_int64_strings_and_zero():
    config = parse(method(maxRequestMessageBytes="0", maxResponseMessageBytes=2**63 - 1))
    mc = config.method_configs[0]
    assert mc.max_request_message_bytes == 0
    assert mc.max_response_message_bytes == 2**63 - 1


def test_health_check_service_name():
    assert parse({"healthCheckConfig": {}}).health_check_service_name == ""
    assert parse({"healthCheckConfig": {"serviceName": "x"}}).health_check_service_name == "x"


# -- load balancing ---------------------------------------------------------------------------


def test_first_known_policy_wins_and_its_config_is_parsed():
    config = parse(
        {
            "loadBalancingConfig": [
                {"unknown_policy": {"anything": 1}},
                {"pick_first": {"shuffleAddressList": True}},
                {"round_robin": {}},
            ]
        }
    )
    assert config.load_balancing_policy == "pick_first"
    assert config.load_balancing_config == {"shuffle": True}


def test_load_balancing_config_beats_the_deprecated_policy():
    config = parse(
        {"loadBalancingPolicy": "pick_first", "loadBalancingConfig": [{"round_robin": {}}]}
    )
    assert config.load_balancing_policy == "round_robin"


def test_deprecated_policy_is_used_alone_with_an_empty_config():
    config = parse({"loadBalancingPolicy": "pick_first"})
    assert config.load_balancing_policy == "pick_first"
    assert config.load_balancing_config == {"shuffle": False}


@pytest.mark.parametrize("name", ["no_such_policy", "ROUND_ROBIN", "Pick_First", ""])
def test_unknown_deprecated_policy_falls_back_to_the_default(name, caplog):
    # grpc-go: balancer.Get(name) == nil -> pick_first; its registry is case-sensitive.
    with caplog.at_level(logging.WARNING, logger="plugrpc.service_config"):
        config = parse({"loadBalancingPolicy": name})
    assert config.load_balancing_policy is None
    assert config.load_balancing_config is None
    assert f"loadBalancingPolicy {name!r} is not installed" in caplog.text


def test_nested_child_policy_uses_the_same_registry():
    config = parse(
        {
            "loadBalancingConfig": [
                {"parent_policy": {"childPolicy": [{"nope": {}}, {"round_robin": {}}]}}
            ]
        }
    )
    assert config.load_balancing_policy == "parent_policy"
    assert config.load_balancing_config == ("parent", ("round_robin", {}))


def test_select_lb_policy_directly():
    assert select_lb_policy([{"x": {}}, {"round_robin": None}], BALANCERS) == ("round_robin", {})
    with pytest.raises(ServiceConfigError, match=r"^childPolicy: no installed policy among 'x'"):
        select_lb_policy([{"x": {}}], BALANCERS)


LB_ERRORS = [
    (
        {"loadBalancingConfig": [{"ring_hash_experimental": {}}, {"weird": {}}]},
        "loadBalancingConfig: no installed policy among 'ring_hash_experimental', 'weird'; "
        "installed: parent_policy, pick_first, round_robin; pip install plugrpc-balancer-ring-hash",
    ),
    ({"loadBalancingConfig": []}, "loadBalancingConfig: lists no policy"),
    (
        {"loadBalancingConfig": {"round_robin": {}}},
        "loadBalancingConfig: must be a list, got an object",
    ),
    (
        {"loadBalancingConfig": [{"round_robin": {}, "pick_first": {}}]},
        "loadBalancingConfig[0]: each entry must be an object with exactly one key",
    ),
    (
        {"loadBalancingConfig": ["round_robin"]},
        "loadBalancingConfig[0]: each entry must be an object",
    ),
    (
        {"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": "yes"}}]},
        "loadBalancingConfig[0].pick_first: invalid config for policy 'pick_first': "
        "shuffleAddressList must be a boolean",
    ),
    (
        {"loadBalancingConfig": [{"round_robin": []}]},
        "loadBalancingConfig[0].round_robin: invalid config for policy 'round_robin': "
        "round_robin: config must be a JSON object",
    ),
    (
        {"loadBalancingConfig": [{"parent_policy": {"childPolicy": [{"a": {}, "b": {}}]}}]},
        "loadBalancingConfig[0].parent_policy.childPolicy[0]: each entry must be an object",
    ),
    (
        {"loadBalancingConfig": [{"parent_policy": {"childPolicy": [{"zzz": {}}]}}]},
        "loadBalancingConfig[0].parent_policy.childPolicy: no installed policy among 'zzz'",
    ),
    ({"loadBalancingPolicy": 5}, "loadBalancingPolicy: must be a string, got a number 5"),
]


@pytest.mark.parametrize(("doc", "message"), LB_ERRORS)
def test_load_balancing_errors(doc, message):
    with pytest.raises(ServiceConfigError) as info:
        parse(doc)
    assert str(info.value).startswith(message)


# -- every field rule ---------------------------------------------------------------------------

FIELD_ERRORS = [
    # the document
    ("", "the service config is empty"),
    ("{", "the service config is not valid JSON"),
    ('{"timeout": NaN}', "the service config is not valid JSON: NaN is not valid JSON"),
    ("[]", "the service config must be a JSON object"),
    ('"text"', "the service config must be a JSON object"),
    # names
    ({"methodConfig": {}}, "methodConfig: must be a list"),
    ({"methodConfig": [1]}, "methodConfig[0]: must be a JSON object, got a number"),
    ({"methodConfig": [{"name": {}}]}, "methodConfig[0].name: must be a list"),
    ({"methodConfig": [{"name": ["svc"]}]}, "methodConfig[0].name[0]: must be a JSON object"),
    (
        {"methodConfig": [{"name": [{"method": "M"}]}]},
        "methodConfig[0].name[0]: has method 'M' but no service",
    ),
    (
        {"methodConfig": [{"name": [{"service": "", "method": "M"}]}]},
        "methodConfig[0].name[0]: has method 'M' but no service",
    ),
    (
        {"methodConfig": [{"name": [{"service": 1}]}]},
        "methodConfig[0].name[0].service: must be a string, got a number 1",
    ),
    (
        {"methodConfig": [{"name": [{"service": "s"}, {"service": "s"}]}]},
        "methodConfig[0].name[1]: duplicate name {service: 's'}, already used at "
        "methodConfig[0].name[0]",
    ),
    (
        {"methodConfig": [{"name": [{}]}, {"name": [{"service": ""}]}]},
        "methodConfig[1].name[0]: duplicate name {} (the channel default)",
    ),
    (
        {
            "methodConfig": [
                {"name": [{"service": "s", "method": "m"}]},
                {"name": [{"service": "s", "method": "m"}]},
            ]
        },
        "methodConfig[1].name[0]: duplicate name {service: 's', method: 'm'}",
    ),
    # waitForReady, timeout, sizes
    (
        method(waitForReady="true"),
        "methodConfig[0].waitForReady: must be true or false, got a string",
    ),
    (method(waitForReady=1), "methodConfig[0].waitForReady: must be true or false, got a number 1"),
    (method(timeout=1.5), "methodConfig[0].timeout: must be a duration string"),
    (method(timeout="1"), "methodConfig[0].timeout: malformed duration '1'"),
    (method(timeout="1m"), "methodConfig[0].timeout: malformed duration '1m'"),
    (method(timeout="1.5"), "methodConfig[0].timeout: malformed duration"),
    (method(timeout="s"), "methodConfig[0].timeout: malformed duration 's'"),
    (method(timeout=".s"), "methodConfig[0].timeout: malformed duration '.s'"),
    (method(timeout=" 1s"), "methodConfig[0].timeout: malformed duration"),
    (method(timeout="+1s"), "methodConfig[0].timeout: malformed duration"),
    (method(timeout="1e3s"), "methodConfig[0].timeout: malformed duration"),
    (
        method(timeout="1.1234567891s"),
        "methodConfig[0].timeout: malformed duration '1.1234567891s': more than 9 digits",
    ),
    (
        method(timeout="315576000001s"),
        "methodConfig[0].timeout: duration '315576000001s' is out of range",
    ),
    (method(timeout="-1s"), "methodConfig[0].timeout: must not be negative, got '-1s'"),
    (
        method(maxRequestMessageBytes=-1),
        "methodConfig[0].maxRequestMessageBytes: must not be negative, got -1",
    ),
    (
        method(maxRequestMessageBytes=1.5),
        "methodConfig[0].maxRequestMessageBytes: must be an integer, got a number 1.5",
    ),
    (
        method(maxRequestMessageBytes=1024.0),
        "methodConfig[0].maxRequestMessageBytes: must be an integer",
    ),
    (
        method(maxResponseMessageBytes=True),
        "methodConfig[0].maxResponseMessageBytes: must be an integer, got a boolean true",
    ),
    (
        method(maxResponseMessageBytes="12a"),
        "methodConfig[0].maxResponseMessageBytes: must be an integer, got the string '12a'",
    ),
    (
        method(maxResponseMessageBytes="-5"),
        "methodConfig[0].maxResponseMessageBytes: must not be negative, got -5",
    ),
    (
        method(maxResponseMessageBytes=2**63),
        "methodConfig[0].maxResponseMessageBytes: must fit in 64 bits",
    ),
    # retryPolicy
    (method(retryPolicy=[]), "methodConfig[0].retryPolicy: must be a JSON object, got a list"),
    (
        retry(maxAttempts=1),
        "methodConfig[0].retryPolicy.maxAttempts: must be an integer greater than 1, got 1",
    ),
    (
        retry(maxAttempts=0),
        "methodConfig[0].retryPolicy.maxAttempts: must be an integer greater than 1, got 0",
    ),
    (
        retry(maxAttempts=...),
        "methodConfig[0].retryPolicy.maxAttempts: is required: an integer greater than 1",
    ),
    (
        retry(maxAttempts="3"),
        "methodConfig[0].retryPolicy.maxAttempts: must be an integer, got a string '3'",
    ),
    (
        retry(maxAttempts=2.5),
        "methodConfig[0].retryPolicy.maxAttempts: must be an integer, got a number 2.5",
    ),
    (
        retry(initialBackoff="0s"),
        "methodConfig[0].retryPolicy.initialBackoff: must be greater than 0, got '0s'",
    ),
    (
        retry(initialBackoff="-1s"),
        "methodConfig[0].retryPolicy.initialBackoff: must be greater than 0",
    ),
    (retry(initialBackoff=...), "methodConfig[0].retryPolicy.initialBackoff: is required"),
    (
        retry(initialBackoff=1),
        "methodConfig[0].retryPolicy.initialBackoff: must be a duration string",
    ),
    (
        retry(maxBackoff="0.0s"),
        "methodConfig[0].retryPolicy.maxBackoff: must be greater than 0, got '0.0s'",
    ),
    (retry(maxBackoff=...), "methodConfig[0].retryPolicy.maxBackoff: is required"),
    (
        retry(backoffMultiplier=0),
        "methodConfig[0].retryPolicy.backoffMultiplier: must be greater than 0, got 0",
    ),
    (
        retry(backoffMultiplier=-2),
        "methodConfig[0].retryPolicy.backoffMultiplier: must be greater than 0, got -2",
    ),
    (
        retry(backoffMultiplier="2"),
        "methodConfig[0].retryPolicy.backoffMultiplier: must be a number, got a string",
    ),
    (retry(backoffMultiplier=...), "methodConfig[0].retryPolicy.backoffMultiplier: is required"),
    (
        retry(retryableStatusCodes=[]),
        "methodConfig[0].retryPolicy.retryableStatusCodes: must list at least one",
    ),
    (
        retry(retryableStatusCodes=...),
        "methodConfig[0].retryPolicy.retryableStatusCodes: is required",
    ),
    (
        retry(retryableStatusCodes="UNAVAILABLE"),
        "methodConfig[0].retryPolicy.retryableStatusCodes: must be a list",
    ),
    (
        retry(retryableStatusCodes=["UNAVAILABLE", "unavailable"]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[1]: 'unavailable' is not a status code: "
        "use an UPPERCASE name",
    ),
    (
        retry(retryableStatusCodes=[17]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[0]: 17 is not a status code",
    ),
    (
        retry(retryableStatusCodes=[-1]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[0]: -1 is not a status code",
    ),
    (
        retry(retryableStatusCodes=[True]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[0]: true is not a status code",
    ),
    (
        retry(retryableStatusCodes=[14.0]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[0]: 14.0 is not a status code",
    ),
    (
        retry(retryableStatusCodes=[["UNAVAILABLE"]]),
        "methodConfig[0].retryPolicy.retryableStatusCodes[0]: ['UNAVAILABLE'] is not",
    ),
    # hedgingPolicy
    (
        method(hedgingPolicy={"maxAttempts": 1}),
        "methodConfig[0].hedgingPolicy.maxAttempts: must be an integer greater than 1, got 1",
    ),
    (method(hedgingPolicy={}), "methodConfig[0].hedgingPolicy.maxAttempts: is required"),
    (
        method(hedgingPolicy={"maxAttempts": 2, "hedgingDelay": "-1s"}),
        "methodConfig[0].hedgingPolicy.hedgingDelay: must not be negative",
    ),
    (
        method(hedgingPolicy={"maxAttempts": 2, "hedgingDelay": "soon"}),
        "methodConfig[0].hedgingPolicy.hedgingDelay: malformed duration",
    ),
    (
        method(hedgingPolicy={"maxAttempts": 2, "nonFatalStatusCodes": ["Unavailable"]}),
        "methodConfig[0].hedgingPolicy.nonFatalStatusCodes[0]: 'Unavailable' is not a status code",
    ),
    (
        method(retryPolicy=RETRY, hedgingPolicy={"maxAttempts": 2}),
        "methodConfig[0]: sets both retryPolicy and hedgingPolicy",
    ),
    # retryThrottling
    ({"retryThrottling": []}, "retryThrottling: must be a JSON object"),
    ({"retryThrottling": {"tokenRatio": 0.1}}, "retryThrottling.maxTokens: is required"),
    ({"retryThrottling": {"maxTokens": 10}}, "retryThrottling.tokenRatio: is required"),
    (
        {"retryThrottling": {"maxTokens": 0, "tokenRatio": 0.1}},
        "retryThrottling.maxTokens: must be greater than 0 and at most 1000, got 0",
    ),
    (
        {"retryThrottling": {"maxTokens": -3, "tokenRatio": 0.1}},
        "retryThrottling.maxTokens: must be greater than 0",
    ),
    (
        {"retryThrottling": {"maxTokens": 1000.5, "tokenRatio": 0.1}},
        "retryThrottling.maxTokens: must be greater than 0 and at most 1000, got 1000.5",
    ),
    (
        {"retryThrottling": {"maxTokens": "10", "tokenRatio": 0.1}},
        "retryThrottling.maxTokens: must be a number",
    ),
    (
        {"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}},
        "retryThrottling.tokenRatio: must be at least 0.001",
    ),
    (
        {"retryThrottling": {"maxTokens": 10, "tokenRatio": -0.5}},
        "retryThrottling.tokenRatio: must be at least 0.001",
    ),
    (
        {"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.0009}},
        "retryThrottling.tokenRatio: must be at least 0.001",
    ),
    (
        {"retryThrottling": {"maxTokens": 10, "tokenRatio": False}},
        "retryThrottling.tokenRatio: must be a number, got a boolean",
    ),
    # healthCheckConfig
    ({"healthCheckConfig": "svc"}, "healthCheckConfig: must be a JSON object"),
    ({"healthCheckConfig": {"serviceName": 3}}, "healthCheckConfig.serviceName: must be a string"),
]


@pytest.mark.parametrize(("doc", "message"), FIELD_ERRORS)
def test_field_errors_name_the_field(doc, message):
    with pytest.raises(ServiceConfigError) as info:
        parse(doc)
    assert str(info.value).startswith(message), str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (
        f"{info.value.path}: {info.value.reason}" if info.value.path else info.value.reason
    )


def test_unknown_fields_are_ignored_at_every_level():
    doc = {
        "futureTopLevel": [1, 2],
        "methodConfig": [
            {
                "name": [{"service": "s", "extra": 1}],
                "perAttemptRecvTimeout": "bogus but unknown",
                "retryPolicy": {**RETRY, "futureKnob": "x"},
            }
        ],
        "retryThrottling": {"maxTokens": 1, "tokenRatio": 1, "other": None},
    }
    config = parse(doc)
    assert config.method_configs[0].retry_policy is not None
    assert config.raw["futureTopLevel"] == [1, 2]


def test_non_json_mapping_is_rejected():
    with pytest.raises(ServiceConfigError, match="not valid JSON"):
        parse_service_config({"methodConfig": {1, 2}}, balancers=BALANCERS)
    with pytest.raises(ServiceConfigError, match="not valid JSON"):
        parse_service_config({"x": float("nan")}, balancers=BALANCERS)


def test_default_registry_is_the_installed_balancers(clean_registries):
    from plugrpc_core.plugins import balancers

    with balancers.override(RoundRobin):
        config = parse_service_config('{"loadBalancingConfig": [{"round_robin": {}}]}')
    assert config.load_balancing_policy == "round_robin"


# -- the model built in code ---------------------------------------------------------------------


def test_model_validates_when_built_directly():
    with pytest.raises(ServiceConfigError, match="empty service"):
        MethodName(method="M")
    policy = RetryPolicy(
        max_attempts=2,
        initial_backoff=1,
        max_backoff=1,
        backoff_multiplier=1,
        retryable_status_codes=frozenset({StatusCode.UNAVAILABLE}),
    )
    with pytest.raises(ServiceConfigError, match="not both"):
        MethodConfig(retry_policy=policy, hedging_policy=HedgingPolicy(max_attempts=2))
    name = MethodName(service="s")
    with pytest.raises(ServiceConfigError, match="appears in two method configs"):
        ServiceConfig(method_configs=(MethodConfig(names=(name,)), MethodConfig(names=(name,))))


def test_model_values_are_frozen_hashable_and_compare_without_raw():
    a = parse(method(timeout="1s"))
    b = parse({**method(timeout="1s"), "unknown": 1})
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.load_balancing_policy = "x"  # type: ignore[misc]
    built = ServiceConfig(
        method_configs=(MethodConfig(names=(MethodName(service="pkg.Svc"),), timeout=1.0),)
    )
    assert built == a
    assert built.method_config("/pkg.Svc/M") is built.method_configs[0]
    assert MethodName(service="a", method="b").path == "/a/b"
    assert MethodName(service="a").path == "/a/"
    assert MethodName().path == ""
