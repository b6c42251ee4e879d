"""The dns resolver against a real dnsmasq on loopback: records, TXT configs, re-resolution."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any, ClassVar

import pytest
from plugrpc_core import Address, ResolverOptions
from plugrpc_resolver_dns import DnsResolver


class QuickDns(DnsResolver):
    """The real resolver with test-sized intervals."""

    min_resolution_interval: ClassVar[float] = 0.3
    retry_delay: ClassVar[float] = 0.05
    lookup_timeout: ClassVar[float] = 3.0


def txt_value(service_config: dict[str, Any], **criteria: Any) -> str:
    return "grpc_config=" + json.dumps([{**criteria, "serviceConfig": service_config}])


def server(dnsmasq: Any) -> str:
    return f"127.0.0.1:{dnsmasq.port}"


def queried(dnsmasq: Any, name: str) -> bool:
    return f"] {name} from" in dnsmasq.log()


async def test_a_and_aaaa_records_resolve_with_the_target_port(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2", "127.0.0.3", "::1"]})
    resolver = build(QuickDns, "svc.test:50051", listener, server=server(dnsmasq))
    resolver.start()
    state = await listener.next_state()
    assert set(state.addresses) == {
        Address(host="127.0.0.2", port=50051),
        Address(host="127.0.0.3", port=50051),
        Address(host="::1", port=50051),
    }
    assert len(state.addresses) == 3
    assert state.service_config is None and state.service_config_error is None
    # Both families were asked, and the absent TXT record too.
    log = dnsmasq.log()
    assert "query[A] svc.test" in log and "query[AAAA] svc.test" in log
    assert "query[TXT] _grpc_config.svc.test" in log


async def test_the_default_port_is_443(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    build(QuickDns, "svc.test", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.addresses == (Address(host="127.0.0.2", port=443),)


async def test_ipv6_only_name(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"six.test": ["::1", "2001:db8::7"]})
    build(QuickDns, "six.test:7", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert {a.host for a in state.addresses} == {"::1", "2001:db8::7"}


async def test_resolve_now_picks_up_changed_records_at_the_rate_limit(
    dnsmasq, listener, build
) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    resolver = build(QuickDns, "svc.test:1", listener, server=server(dnsmasq))
    resolver.start()
    first = await listener.next_state()
    assert first.addresses == (Address(host="127.0.0.2", port=1),)
    dnsmasq.set_hosts({"svc.test": ["127.0.0.4", "127.0.0.5"]})
    resolver.resolve_now()
    resolver.resolve_now()  # coalesced with the first
    second = await listener.next_state()
    assert set(second.addresses) == {
        Address(host="127.0.0.4", port=1),
        Address(host="127.0.0.5", port=1),
    }
    gap = listener.times[1] - listener.times[0]
    assert gap >= QuickDns.min_resolution_interval * 0.9
    # Exactly one lookup answered both requests.
    await asyncio.sleep(QuickDns.min_resolution_interval * 2)
    assert len(listener.events) == 2


async def test_no_polling_without_resolve_now(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    await listener.next_state()
    dnsmasq.set_hosts({"svc.test": ["127.0.0.3"]})
    # grpc-go does not poll: records that changed stay unseen until someone asks.
    await asyncio.sleep(QuickDns.min_resolution_interval * 4)
    assert len(listener.events) == 1


async def test_resolve_now_during_a_lookup_is_kept_for_after_it(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    resolver = build(QuickDns, "svc.test:1", listener, server=server(dnsmasq))
    resolver.start()
    resolver.resolve_now()  # the first lookup is running
    await listener.next_state()
    await listener.next_state()
    assert listener.times[1] - listener.times[0] >= QuickDns.min_resolution_interval * 0.9


async def test_a_missing_name_publishes_no_addresses_and_polls_until_it_exists(
    dnsmasq, listener, build
) -> None:
    build(QuickDns, "late.test:1", listener, server=server(dnsmasq)).start()
    first = await listener.next_state()
    assert first.addresses == ()  # NXDOMAIN is an answer: no addresses (balancers reject it)
    second = await listener.next_state()  # polled again with the backoff, unasked
    assert second.addresses == ()
    dnsmasq.set_hosts({"late.test": ["127.0.0.9"]})
    for _ in range(20):
        state = await listener.next_state()
        if state.addresses:
            break
    assert state.addresses == (Address(host="127.0.0.9", port=1),)


async def test_ip_literals_and_localhost_send_no_query(dnsmasq, listener, build) -> None:
    for endpoint in ("127.0.0.1:5", "[::1]:5", "localhost:5"):
        resolver = build(QuickDns, endpoint, listener, server=server(dnsmasq))
        resolver.start()
        state = await listener.next_state()
        assert state.addresses
        assert all(a.port == 5 for a in state.addresses)
        resolver.resolve_now()
    literal = listener.states[0].addresses
    assert literal == (Address(host="127.0.0.1", port=5),)
    assert all(ipaddress.ip_address(a.host).is_loopback for a in listener.states[2].addresses)
    await asyncio.sleep(QuickDns.min_resolution_interval * 1.5)
    assert len(listener.events) == 4  # literals never re-resolve; localhost did once more
    assert not queried(dnsmasq, "localhost")
    assert "_grpc_config" not in dnsmasq.log()


# -- service config from TXT ---------------------------------------------------------------


async def test_txt_service_config_is_published(dnsmasq, listener, build, named_policy) -> None:
    config = {
        "loadBalancingConfig": [{"not_installed": {}}, {named_policy: {"any": "config"}}],
        "methodConfig": [{"name": [{"service": "pkg.Svc"}], "timeout": "1.5s"}],
    }
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value(config, clientLanguage=["python"])]})
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.service_config_error is None
    assert state.service_config is not None
    assert state.service_config.load_balancing_policy == named_policy
    assert state.service_config.load_balancing_config == {"any": "config"}
    method = state.service_config.method_config("/pkg.Svc/Call")
    assert method is not None and method.timeout == 1.5


async def test_split_strings_and_a_long_record_over_tcp(dnsmasq, listener, build) -> None:
    # 12 method configs: ~700 bytes of JSON in 100-byte strings of one record (RFC 1035
    # allows 255 bytes per string); with a second, unrelated record the answer exceeds
    # 512 bytes, so the UDP answer is truncated and dnspython asks again over TCP.
    # (dnsmasq reads configuration lines of at most ~1 KB, which bounds the test's size.)
    methods = [{"name": [{"service": f"pkg.S{i}"}], "timeout": f"{i + 1}s"} for i in range(12)]
    value = txt_value({"methodConfig": methods})
    assert len(value) > 512
    strings = [value[i : i + 100] for i in range(0, len(value), 100)]
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": [["v=other unrelated record"], strings]})
    records = dnsmasq.txt("_grpc_config.svc.test")
    assert len(records) == 2 and len(max(records, key=len)) == len(strings)
    assert dnsmasq.truncated_over_udp("_grpc_config.svc.test", "TXT")
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.service_config_error is None, state.service_config_error
    assert state.service_config is not None
    method = state.service_config.method_config("/pkg.S11/M")
    assert method is not None and method.timeout == 12.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("grpc_config=[{", "not valid JSON"),
        ('grpc_config=[{"serviceConfig": {}, "clientLanguages": []}]', "unknown field"),
        (
            'grpc_config=[{"serviceConfig": {"methodConfig": [{"name": [{}], "timeout": "x"}]}}]',
            "methodConfig[0].timeout",
        ),
        (
            'grpc_config=[{"serviceConfig": {"loadBalancingConfig": [{"no_such_policy": {}}]}}]',
            "no_such_policy",
        ),
    ],
)
async def test_an_invalid_txt_config_is_an_error_next_to_the_addresses(
    dnsmasq, listener, build, value: str, message: str
) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": [value]})
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.addresses == (Address(host="127.0.0.2", port=1),)
    assert state.service_config is None
    assert state.service_config_error is not None
    assert message in state.service_config_error
    assert "_grpc_config.svc.test" in state.service_config_error


async def test_a_config_for_other_clients_is_no_config(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    config = {"loadBalancingConfig": [{"pick_first": {}}]}
    dnsmasq.set_txt(
        {
            "_grpc_config.svc.test": [
                "grpc_config="
                + json.dumps(
                    [
                        {"clientLanguage": ["go", "java"], "serviceConfig": config},
                        {"clientHostname": ["not-this-host"], "serviceConfig": config},
                        {"percentage": 0, "serviceConfig": config},
                    ]
                )
            ]
        }
    )
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.service_config is None and state.service_config_error is None


async def test_a_changed_txt_record_is_seen_at_the_next_resolution(
    dnsmasq, listener, build
) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    one = {"methodConfig": [{"name": [{}], "timeout": "1s"}]}
    two = {"methodConfig": [{"name": [{}], "timeout": "2s"}]}
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value(one)]})
    resolver = build(QuickDns, "svc.test:1", listener, server=server(dnsmasq))
    resolver.start()
    first = await listener.next_state()
    assert first.service_config is not None
    assert first.service_config.method_configs[0].timeout == 1.0
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value(two)]})
    resolver.resolve_now()
    second = await listener.next_state()
    assert second.service_config is not None
    assert second.service_config.method_configs[0].timeout == 2.0


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_txt_lookups_can_be_turned_off(
    dnsmasq, listener, build, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value({"methodConfig": []})]})
    options = ResolverOptions()
    if how == "option":
        options = ResolverOptions(disable_service_config=True)
    else:
        monkeypatch.setenv("GRPC_ENABLE_TXT_SERVICE_CONFIG", "FALSE")
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq), options=options).start()
    state = await listener.next_state()
    assert state.addresses and state.service_config is None
    assert "_grpc_config" not in dnsmasq.log()


async def test_txt_lookups_stay_on_for_other_environment_values(
    dnsmasq, listener, build, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRPC_ENABLE_TXT_SERVICE_CONFIG", "0")  # only "false" turns it off
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value({"methodConfig": []})]})
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    state = await listener.next_state()
    assert state.service_config is not None


async def test_an_invalid_record_is_polled_until_fixed(dnsmasq, listener, build) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": ["grpc_config=[{"]})
    build(QuickDns, "svc.test:1", listener, server=server(dnsmasq)).start()
    first = await listener.next_state()
    assert first.service_config_error is not None
    # No resolve_now: grpc-go's resolver polls after its channel rejects a state.
    dnsmasq.set_txt({"_grpc_config.svc.test": [txt_value({"methodConfig": []})]})
    for _ in range(30):
        state = await listener.next_state()
        if state.service_config_error is None:
            break
    assert state.service_config is not None
    # Once the record is good the resolver waits for resolve_now again.
    count = len(listener.events)
    await asyncio.sleep(QuickDns.min_resolution_interval * 3)
    assert len(listener.events) == count
