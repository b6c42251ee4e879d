"""Failures: DNS servers that time out or fail, TXT errors, closing, the system configuration.

The failing servers are real UDP DNS servers whose answers the test scripts (conftest's
``ScriptedDns``); the system-configuration tests use a hosts file and resolv.conf of their own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from plugrpc_core import Address
from plugrpc_resolver_dns import DnsResolver

# A TXT string in zone-file syntax: a method config giving every method a 7 s timeout.
CONFIG = (
    '"grpc_config=[{\\"serviceConfig\\": {\\"methodConfig\\": '
    '[{\\"name\\": [{}], \\"timeout\\": \\"7s\\"}]}}]"'
)


class QuickDns(DnsResolver):
    min_resolution_interval: ClassVar[float] = 0.05
    retry_delay: ClassVar[float] = 0.05
    lookup_timeout: ClassVar[float] = 0.5


def at(server: Any) -> str:
    return f"127.0.0.1:{server.port}"


async def test_server_failure_is_reported_and_retried(scripted_dns, listener, build) -> None:
    scripted_dns.servfail = {"A", "AAAA"}
    build(QuickDns, "svc.test:1", listener, server=at(scripted_dns)).start()
    error = await listener.next_error()
    assert error.startswith("dns: cannot resolve 'svc.test': ")
    assert "no DNS server answered" in error and "SERVFAIL" in error
    await listener.next_error()  # polled again after the backoff
    scripted_dns.servfail = set()
    scripted_dns.records[("svc.test", "A")] = ["127.0.0.8"]
    for _ in range(30):
        event = await listener.next()
        if not isinstance(event, str):
            break
    assert event.addresses == (Address(host="127.0.0.8", port=1),)


async def test_a_lookup_that_gets_no_answer_times_out(scripted_dns, listener, build) -> None:
    scripted_dns.drop = {"A", "AAAA", "TXT"}
    loop = asyncio.get_running_loop()
    started = loop.time()
    build(QuickDns, "svc.test:1", listener, server=at(scripted_dns)).start()
    error = await listener.next_error()
    elapsed = loop.time() - started
    assert "timed out" in error
    assert QuickDns.lookup_timeout * 0.8 <= elapsed < QuickDns.lookup_timeout + 1.5


async def test_one_family_failing_leaves_the_other_usable(scripted_dns, listener, build) -> None:
    scripted_dns.records[("svc.test", "A")] = ["127.0.0.2"]
    scripted_dns.drop = {"AAAA"}
    build(QuickDns, "svc.test:1", listener, server=at(scripted_dns)).start()
    state = await listener.next_state(timeout=QuickDns.lookup_timeout + 3)
    assert state.addresses == (Address(host="127.0.0.2", port=1),)


async def test_no_address_and_a_failure_is_the_failure(scripted_dns, listener, build) -> None:
    scripted_dns.records[("svc.test", "TXT")] = ['"v=1"']  # the name exists: A is NODATA
    scripted_dns.servfail = {"AAAA"}
    build(QuickDns, "svc.test:1", listener, server=at(scripted_dns)).start()
    error = await listener.next_error()
    assert "AAAA lookup of 'svc.test' failed" in error


async def test_a_failed_txt_lookup_keeps_the_previous_config(scripted_dns, listener, build) -> None:
    scripted_dns.records[("svc.test", "A")] = ["127.0.0.2"]
    scripted_dns.records[("_grpc_config.svc.test", "TXT")] = [CONFIG]
    resolver = build(QuickDns, "svc.test:1", listener, server=at(scripted_dns))
    resolver.start()
    first = await listener.next_state()
    assert first.service_config is not None
    method = first.service_config.method_config("/any.Service/Method")
    assert method is not None and method.timeout == 7.0

    scripted_dns.servfail = {"TXT"}
    resolver.resolve_now()
    second = await listener.next_state()
    assert second.service_config == first.service_config
    assert second.service_config_error is None

    # The record going away is an answer: no config any more.
    scripted_dns.servfail = set()
    del scripted_dns.records[("_grpc_config.svc.test", "TXT")]
    resolver.resolve_now()
    third = await listener.next_state()
    assert third.service_config is None and third.service_config_error is None


async def test_a_failed_first_txt_lookup_means_no_config(scripted_dns, listener, build) -> None:
    scripted_dns.records[("svc.test", "A")] = ["127.0.0.2"]
    scripted_dns.drop = {"TXT"}
    build(QuickDns, "svc.test:1", listener, server=at(scripted_dns)).start()
    state = await listener.next_state(timeout=QuickDns.lookup_timeout + 3)
    assert state.addresses == (Address(host="127.0.0.2", port=1),)
    assert state.service_config is None and state.service_config_error is None


async def test_close_during_a_lookup_stops_everything(scripted_dns, listener, build) -> None:
    scripted_dns.drop = {"A", "AAAA", "TXT"}
    resolver = build(QuickDns, "svc.test:1", listener, server=at(scripted_dns))
    resolver.start()
    await asyncio.sleep(0.05)
    assert scripted_dns.queries  # the lookup is under way
    resolver.close()
    resolver.resolve_now()  # ignored after close
    await asyncio.sleep(QuickDns.lookup_timeout + 0.3)
    assert listener.events == []
    running = [t for t in asyncio.all_tasks() if t.get_name().startswith("plugrpc-dns")]
    assert running == []


async def test_close_while_waiting_to_retry(scripted_dns, listener, build) -> None:
    scripted_dns.servfail = {"A", "AAAA"}
    resolver = build(QuickDns, "svc.test:1", listener, server=at(scripted_dns))
    resolver.start()
    await listener.next_error()
    resolver.close()
    count = len(scripted_dns.queries)
    await asyncio.sleep(0.5)
    assert len(listener.events) == 1
    assert len(scripted_dns.queries) == count


# -- the system's configuration (no DNS server in the target) -------------------------------


def system_resolver(tmp_path: Path, hosts: str, resolv_conf: str | None) -> type[DnsResolver]:
    (tmp_path / "hosts").write_text(hosts)
    if resolv_conf is not None:
        (tmp_path / "resolv.conf").write_text(resolv_conf)

    class SystemDns(QuickDns):
        hosts_path = str(tmp_path / "hosts")
        resolv_conf_path = str(tmp_path / "resolv.conf")

    return SystemDns


async def test_the_hosts_file_answers_first(tmp_path: Path, listener, build) -> None:
    # resolv.conf names a server that refuses: the TXT lookup fails, which is no config.
    cls = system_resolver(
        tmp_path, "10.1.2.3 db.internal\n::1 db.internal\n", "nameserver 127.0.0.1\n"
    )
    build(cls, "DB.internal:7", listener).start()
    state = await listener.next_state()
    assert set(state.addresses) == {Address(host="10.1.2.3", port=7), Address(host="::1", port=7)}
    assert state.service_config is None and state.service_config_error is None


async def test_without_a_dns_configuration_only_the_hosts_file_answers(
    tmp_path: Path, listener, build
) -> None:
    cls = system_resolver(tmp_path, "10.1.2.3 db.internal\n", None)
    build(cls, "db.internal:7", listener).start()
    assert (await listener.next_state()).addresses == (Address(host="10.1.2.3", port=7),)
    build(cls, "other.internal:7", listener).start()
    error = await listener.next_error()
    assert "no DNS server configured" in error and "resolv.conf" in error


async def test_localhost_falls_back_to_loopback(tmp_path: Path, listener, build) -> None:
    cls = system_resolver(tmp_path, "# no localhost here\n", None)
    build(cls, ":9", listener).start()
    state = await listener.next_state()
    assert set(state.addresses) == {Address(host="127.0.0.1", port=9), Address(host="::1", port=9)}


async def test_the_hosts_file_is_read_at_each_lookup(tmp_path: Path, listener, build) -> None:
    cls = system_resolver(tmp_path, "10.0.0.1 svc\n", None)
    resolver = build(cls, "svc:1", listener)
    resolver.start()
    assert (await listener.next_state()).addresses == (Address(host="10.0.0.1", port=1),)
    (tmp_path / "hosts").write_text("10.0.0.2 svc\n10.0.0.3 svc # grew\n")
    resolver.resolve_now()
    state = await listener.next_state()
    assert state.addresses == (Address(host="10.0.0.2", port=1), Address(host="10.0.0.3", port=1))
