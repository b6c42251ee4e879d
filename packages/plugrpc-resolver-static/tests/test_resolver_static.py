"""The ipv4: and ipv6: address-list resolvers: parsing, validation and publishing."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest
from plugrpc_core import Address, ResolverOptions, ResolverState, Target, plugins
from plugrpc_resolver_static import (
    DEFAULT_PORT,
    Ipv4Resolver,
    Ipv6Resolver,
    parse_address_list,
)


def target(raw: str) -> Target:
    """The Target a channel builds (grpc-go URI rules: a path loses one '/' and is decoded)."""
    scheme, _, rest = raw.partition(":")
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        return Target(scheme=scheme, authority=authority, endpoint=unquote(path), raw=raw)
    return Target(scheme=scheme, authority="", endpoint=rest, raw=raw)


@dataclass
class Listener:
    states: list[ResolverState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def update_state(self, state: ResolverState) -> None:
        self.states.append(state)

    def report_error(self, error: str) -> None:
        self.errors.append(error)


def resolve(raw: str, options: ResolverOptions | None = None) -> tuple[Address, ...]:
    parsed = target(raw)
    cls = {"ipv4": Ipv4Resolver, "ipv6": Ipv6Resolver}[parsed.scheme]
    cls.validate_target(parsed)
    listener = Listener()
    resolver = cls(parsed, listener, options or ResolverOptions())
    resolver.start()
    resolver.resolve_now()
    resolver.close()
    (state,) = listener.states
    assert listener.errors == []
    assert state.service_config is None
    return state.addresses


def v(host: str, port: int = DEFAULT_PORT) -> Address:
    return Address(host=host, port=port)


@pytest.mark.parametrize(
    ("raw", "addresses"),
    [
        ("ipv4:10.0.0.1:50051", (v("10.0.0.1", 50051),)),
        ("ipv4:10.0.0.1:50051,10.0.0.2:50052", (v("10.0.0.1", 50051), v("10.0.0.2", 50052))),
        ("ipv4:10.0.0.1", (v("10.0.0.1"),)),
        ("ipv4:10.0.0.1,10.0.0.2:1", (v("10.0.0.1"), v("10.0.0.2", 1))),
        ("ipv4:///10.0.0.1:5", (v("10.0.0.1", 5),)),
        ("ipv4:10.0.0.1:1,,10.0.0.2:2,", (v("10.0.0.1", 1), v("10.0.0.2", 2))),
        ("ipv4:10.0.0.1:1,10.0.0.1:1", (v("10.0.0.1", 1), v("10.0.0.1", 1))),
        ("ipv4:255.255.255.255:65535", (v("255.255.255.255", 65535),)),
    ],
)
def test_ipv4_lists(raw: str, addresses: tuple[Address, ...]) -> None:
    assert resolve(raw) == addresses


@pytest.mark.parametrize(
    ("raw", "addresses"),
    [
        ("ipv6:[::1]:50051", (v("::1", 50051),)),
        ("ipv6:[::1]:50051,[::2]", (v("::1", 50051), v("::2"))),
        ("ipv6:::1", (v("::1"),)),
        ("ipv6:2001:db8::1,[2001:db8::2]:7", (v("2001:db8::1"), v("2001:db8::2", 7))),
        ("ipv6:[::ffff:10.0.0.1]:9", (v("::ffff:10.0.0.1", 9),)),
        ("ipv6:///[::1]:5", (v("::1", 5),)),
        ("ipv6:[fe80::1%25eth0]:80", (v("fe80::1%eth0", 80),)),
        ("ipv6:///[fe80::1%25eth0]:80", (v("fe80::1%eth0", 80),)),
        # Without brackets a final ':80' is part of the address (naming.md).
        ("ipv6:::1:80", (v("::1:80"),)),
    ],
)
def test_ipv6_lists(raw: str, addresses: tuple[Address, ...]) -> None:
    assert resolve(raw) == addresses


def test_the_default_port_comes_from_the_channel_options() -> None:
    assert resolve("ipv4:10.0.0.1,10.0.0.2:2", ResolverOptions(default_port=80)) == (
        v("10.0.0.1", 80),
        v("10.0.0.2", 2),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ipv4://host/10.0.0.1:1", "take no authority"),
        ("ipv4:", "lists no address"),
        ("ipv4:,,", "lists no address"),
        ("ipv4:localhost:50051", "'localhost' in 'localhost:50051' is not an IPv4 address"),
        ("ipv4:010.0.0.1", "not an IPv4 address"),
        ("ipv4:10.0.0", "not an IPv4 address"),
        ("ipv4:10.0.0.1:", "port '' of '10.0.0.1:' is not a number"),
        ("ipv4:10.0.0.1:0", "port 0 of '10.0.0.1:0' is not in 1-65535"),
        ("ipv4:10.0.0.1:65536", "not in 1-65535"),
        ("ipv4:10.0.0.1:http", "is not a number"),
        ("ipv4:10.0.0.1:1,bad", "'bad' in 'bad' is not an IPv4 address"),
        ("ipv4:[::1]:1", "IPv6 goes in an ipv6: target"),
        ("ipv4:::1", "IPv6 goes in an ipv6: target"),
        ("ipv4:10.0.0.1%zz", "two-digit hex escape"),
        ("ipv6:", "lists no address"),
        ("ipv6://[::1]/[::1]", "take no authority"),
        ("ipv6:10.0.0.1:50051", "IPv4 addresses go in an ipv4: target"),
        ("ipv6:10.0.0.1", "IPv4 addresses go in an ipv4: target"),
        ("ipv6:example.com", "'example.com' in 'example.com' is not an IPv6 address"),
        ("ipv6:[::1", "missing ']'"),
        ("ipv6:[::1]x", "expected ':port' after ']'"),
        ("ipv6:[::1]:", "is not a number"),
        ("ipv6:[::1]:99999", "not in 1-65535"),
        ("ipv6:[10.0.0.1]:5", "not an IPv6 address"),
        ("ipv6:[fe80::1%eth0]:80", "write an IPv6 zone as %25"),
    ],
)
def test_malformed_lists_fail_validation_naming_the_target(raw: str, message: str) -> None:
    parsed = target(raw)
    cls = {"ipv4": Ipv4Resolver, "ipv6": Ipv6Resolver}[parsed.scheme]
    with pytest.raises(ValueError, match=message) as info:
        cls.validate_target(parsed)
    assert str(info.value).startswith(f"invalid target {raw!r}: ")
    with pytest.raises(ValueError):
        cls(parsed, Listener(), ResolverOptions())


@pytest.mark.parametrize(
    ("raw", "authority"),
    [
        ("ipv4:10.0.0.1:50051", "10.0.0.1:50051"),
        ("ipv4:10.0.0.1:1,10.0.0.2:2", "10.0.0.1:1,10.0.0.2:2"),
        ("ipv6:[::1]:5", "[::1]:5"),
        ("ipv6:[fe80::1%25eth0]:80", "[fe80::1%25eth0]:80"),
    ],
)
def test_default_authority_is_the_list(raw: str, authority: str) -> None:
    parsed = target(raw)
    cls = {"ipv4": Ipv4Resolver, "ipv6": Ipv6Resolver}[parsed.scheme]
    assert cls.default_authority(parsed) == authority


def test_parse_address_list() -> None:
    assert parse_address_list("ipv4", "1.2.3.4:5,6.7.8.9") == (v("1.2.3.4", 5), v("6.7.8.9"))
    assert parse_address_list("ipv6", "[::1]", 80) == (v("::1", 80),)
    with pytest.raises(ValueError, match="expected ipv4 or ipv6"):
        parse_address_list("unix", "/tmp/s")


def test_the_resolver_exposes_its_addresses() -> None:
    resolver = Ipv4Resolver(target("ipv4:10.0.0.1:1"), Listener(), ResolverOptions())
    assert resolver.addresses == (v("10.0.0.1", 1),)


def test_the_plugin_registers_both_schemes() -> None:
    assert plugins.resolvers.get("ipv4") is Ipv4Resolver
    assert plugins.resolvers.get("ipv6") is Ipv6Resolver
    entries = {e.key: e for e in plugins.resolvers.entries()}
    assert entries["ipv4"].distribution == "plugrpc-resolver-static"
    assert entries["ipv6"].entry_point == "resolver-static"
