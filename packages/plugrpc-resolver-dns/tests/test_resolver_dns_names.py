"""Target parsing, the hosts file and address order: no DNS traffic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from plugrpc_core import Target, plugins
from plugrpc_resolver_dns import DEFAULT_DNS_PORT, DEFAULT_PORT, DnsResolver, parse_dns_target
from plugrpc_resolver_dns._hosts import HostsFile, parse_hosts
from plugrpc_resolver_dns._lookup import _precedence, sort_addresses
from plugrpc_resolver_dns._names import default_authority, is_localhost


def target(endpoint: str, authority: str = "") -> Target:
    return Target(
        scheme="dns", authority=authority, endpoint=endpoint, raw=f"dns://{authority}/{endpoint}"
    )


@pytest.mark.parametrize(
    ("endpoint", "host", "port", "literal"),
    [
        ("example.com", "example.com", DEFAULT_PORT, False),
        ("example.com:50051", "example.com", 50051, False),
        ("example.com.", "example.com.", 443, False),
        ("svc", "svc", 443, False),
        (":50051", "localhost", 50051, False),
        ("10.0.0.1", "10.0.0.1", 443, True),
        ("10.0.0.1:8080", "10.0.0.1", 8080, True),
        ("::1", "::1", 443, True),
        ("2001:db8::1", "2001:db8::1", 443, True),
        ("[::1]", "::1", 443, True),
        ("[2001:db8::1]:50051", "2001:db8::1", 50051, True),
        ("_grpc._tcp.example", "_grpc._tcp.example", 443, False),
        ("bücher.example", "bücher.example", 443, False),
    ],
)
def test_endpoints(endpoint: str, host: str, port: int, literal: bool) -> None:
    parsed = parse_dns_target(target(endpoint))
    assert (parsed.host, parsed.port, parsed.ip_literal, parsed.server) == (
        host,
        port,
        literal,
        None,
    )


def test_the_default_port_comes_from_the_options() -> None:
    assert parse_dns_target(target("example.com"), 8443).port == 8443


@pytest.mark.parametrize(
    ("authority", "server"),
    [
        ("127.0.0.1", ("127.0.0.1", DEFAULT_DNS_PORT)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
    ],
)
def test_dns_server_authority(authority: str, server: tuple[str, int]) -> None:
    assert parse_dns_target(target("svc.test:1", authority)).server == server


@pytest.mark.parametrize(
    ("endpoint", "authority", "message"),
    [
        ("", "", "missing address: the target names no host"),
        ("host:", "", "missing port"),
        ("host:http", "", "not a number"),
        ("host:0", "", "not in 1-65535"),
        ("host:65536", "", "not in 1-65535"),
        ("host:123456", "", "not a number"),
        ("1:2:3:x", "", "too many colons"),
        ("[::1", "", "missing ']'"),
        ("[example.com]:80", "", "not an IPv6 address"),
        ("[::1]x", "", "expected ':port'"),
        ("bad..name", "", "not a valid host name"),
        ("a" * 64 + ".example", "", "not a valid host name"),
        ("has space", "", "not a valid host name"),
        ("user@host", "", "not a valid host name"),
        ("svc.test", "dns.example.com", "must be an IP address"),
        ("svc.test", "127.0.0.1:x", "not a number"),
        ("svc.test", "127.0.0.1:0", "not in 1-65535"),
    ],
)
def test_bad_targets_are_rejected_with_the_target_quoted(
    endpoint: str, authority: str, message: str
) -> None:
    parsed = target(endpoint, authority)
    with pytest.raises(ValueError, match=message) as info:
        DnsResolver.validate_target(parsed)
    assert repr(parsed.raw) in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "authority"),
    [
        ("example.com:50051", "example.com:50051"),
        (":50051", "localhost:50051"),
        ("[::1]:5", "[::1]:5"),
        ("bücher.example", "b%C3%BCcher.example"),
    ],
)
def test_default_authority(endpoint: str, authority: str) -> None:
    assert default_authority(endpoint) == authority
    assert DnsResolver.default_authority(target(endpoint)) == authority


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LocalHost.", True),
        ("db.localhost", True),
        ("localhost.example", False),
        ("notlocalhost", False),
    ],
)
def test_localhost_names(host: str, local: bool) -> None:
    assert is_localhost(host) is local


def test_the_plugin_registers_the_dns_scheme() -> None:
    assert plugins.resolvers.get("dns") is DnsResolver
    (entry,) = [e for e in plugins.resolvers.entries() if e.key == "dns"]
    assert entry.distribution == "plugrpc-resolver-dns"
    assert entry.entry_point == "resolver-dns"


# -- the hosts file ------------------------------------------------------------------------


def test_hosts_parsing() -> None:
    table = parse_hosts(
        "# comment\n"
        "127.0.0.1 localhost\n"
        "::1 localhost ip6-localhost  # trailing comment\n"
        "10.0.0.5\tDB.Example. db\n"
        "not-an-ip name\n"
        "10.0.0.6\n"
        "10.0.0.7 db\n"
        "10.0.0.5 db\n"
    )
    assert table["localhost"] == ("127.0.0.1", "::1")
    assert table["ip6-localhost"] == ("::1",)
    assert table["db.example"] == ("10.0.0.5",)
    assert table["db"] == ("10.0.0.5", "10.0.0.7")
    assert "name" not in table


def test_hosts_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    hosts = HostsFile(str(path))
    assert hosts.lookup("svc") == ()  # no file: no entries
    path.write_text("10.0.0.1 svc\n")
    assert hosts.lookup("SVC.") == ("10.0.0.1",)
    path.write_text("10.0.0.2 svc\n10.0.0.3 svc\n")
    stat = path.stat()
    # A rewrite within one timestamp tick still changes the size.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hosts.lookup("svc") == ("10.0.0.2", "10.0.0.3")
    path.unlink()
    assert hosts.lookup("svc") == ()


# -- address order (RFC 6724 rules 1 and 6) -------------------------------------------------


def test_precedence_orders_loopback_v6_then_global_v6_then_v4() -> None:
    # Loopback is always routable; a global IPv6 address may not be here (rule 1).
    ordered = sort_addresses(["127.0.0.1", "127.0.0.2", "::1"])
    assert ordered == ["::1", "127.0.0.1", "127.0.0.2"]


def test_equal_precedence_keeps_dns_order() -> None:
    addresses = ["127.0.0.3", "127.0.0.1", "127.0.0.2"]
    assert sort_addresses(addresses) == addresses


def test_unroutable_addresses_go_last() -> None:
    # A link-local address without a zone has no route; by precedence alone (::/0, 40) it
    # would come before IPv4 (35).
    assert sort_addresses(["fe80::1", "127.0.0.1"]) == ["127.0.0.1", "fe80::1"]


@pytest.mark.parametrize(
    ("address", "precedence"),
    [
        ("::1", 50),
        ("2001:4860::8888", 40),
        ("10.0.0.1", 35),
        ("::ffff:10.0.0.1", 35),
        ("2002:c000:204::1", 30),
        ("2001:0:5ef5:79fd::1", 5),
        ("fd00::1", 3),
        ("::0.0.0.5", 1),
        ("fec0::1", 1),
        ("3ffe::1", 1),
        ("fe80::1%1", 40),
    ],
)
def test_rfc6724_default_precedence(address: str, precedence: int) -> None:
    assert _precedence(address) == precedence
