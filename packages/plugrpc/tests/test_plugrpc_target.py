"""Target parsing (naming.md with grpc-go NewClient rules) and host:port parsing."""

from __future__ import annotations

import pytest
from plugrpc._target import authority_for_endpoint, parse_host_port, parse_target, uri_path
from plugrpc_core import Target

SCHEMES = frozenset({"dns", "passthrough", "unix", "unix-abstract"})


def parse(raw: str) -> Target:
    return parse_target(raw, schemes=SCHEMES)


@pytest.mark.parametrize(
    ("raw", "scheme", "authority", "endpoint"),
    [
        # Not URIs with a known scheme: the whole string is the endpoint of dns:///.
        ("localhost:50051", "dns", "", "localhost:50051"),
        ("[::1]:50051", "dns", "", "[::1]:50051"),
        ("127.0.0.1:80", "dns", "", "127.0.0.1:80"),
        ("example.com", "dns", "", "example.com"),
        ("example.com:443", "dns", "", "example.com:443"),
        (":50051", "dns", "", ":50051"),
        ("foo:bar:baz", "dns", "", "foo:bar:baz"),
        # Known schemes.
        ("dns:///localhost:50051", "dns", "", "localhost:50051"),
        ("dns:localhost:50051", "dns", "", "localhost:50051"),
        ("dns://8.8.8.8/example.com:443", "dns", "8.8.8.8", "example.com:443"),
        ("dns://8.8.8.8:53/example.com", "dns", "8.8.8.8:53", "example.com"),
        ("DNS:///host", "dns", "", "host"),
        ("dns:///[::1]:50051", "dns", "", "[::1]:50051"),
        ("passthrough:///10.0.0.1:80", "passthrough", "", "10.0.0.1:80"),
        ("passthrough:///host?query#frag", "passthrough", "", "host"),
        ("unix:relative/sock", "unix", "", "relative/sock"),
        ("unix:///abs/sock", "unix", "", "abs/sock"),
        ("unix:/abs/sock", "unix", "", "abs/sock"),
        ("unix-abstract:name", "unix-abstract", "", "name"),
        ("unix:///a%20b", "unix", "", "a b"),
        ("dns://user@8.8.8.8/host", "dns", "8.8.8.8", "host"),
        # scheme:// with an unknown scheme keeps it, so the channel can name the plugin.
        ("xds:///service", "xds", "", "service"),
    ],
)
def test_parse_target(raw: str, scheme: str, authority: str, endpoint: str) -> None:
    target = parse(raw)
    assert target == Target(scheme=scheme, authority=authority, endpoint=endpoint, raw=raw)


def test_default_scheme_can_be_changed() -> None:
    target = parse_target("host:1", schemes=SCHEMES, default_scheme="passthrough")
    assert (target.scheme, target.endpoint) == ("passthrough", "host:1")


def test_registry_is_the_default_source_of_schemes() -> None:
    assert parse_target("unix:sock").scheme == "unix"
    assert parse_target("localhost:1").scheme == "dns"


@pytest.mark.parametrize("raw", ["", "unix:///a%zzb"])
def test_malformed_targets(raw: str) -> None:
    with pytest.raises(ValueError, match="target"):
        parse(raw)


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        parse_target(b"localhost:1", schemes=SCHEMES)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("unix:///abs/sock", "/abs/sock"),
        ("unix:/abs/sock", "/abs/sock"),
        ("unix:rel/sock", "rel/sock"),
        ("unix-abstract:name", "name"),
    ],
)
def test_uri_path_keeps_the_leading_slash(raw: str, path: str) -> None:
    assert uri_path(parse(raw)) == path


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("localhost:50051", ("localhost", 50051)),
        ("localhost", ("localhost", 443)),
        ("10.1.2.3:8080", ("10.1.2.3", 8080)),
        ("10.1.2.3", ("10.1.2.3", 443)),
        ("[::1]:50051", ("::1", 50051)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
        ("2001:db8::1", ("2001:db8::1", 443)),
        ("[fe80::1%eth0]:80", ("fe80::1%eth0", 80)),
        (":50051", ("localhost", 50051)),
        ("example.com:65535", ("example.com", 65535)),
    ],
)
def test_parse_host_port(endpoint: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(endpoint, 443) == expected


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("", "missing address"),
        ("host:", "missing port"),
        ("host:http", "not a number"),
        ("host:0", "not in 1-65535"),
        ("host:65536", "not in 1-65535"),
        ("host:-1", "not a number"),
        ("[::1", "missing ']'"),
        ("[host]:80", "not an IPv6 address"),
        ("[::1]80", "expected ':port'"),
        ("[::1]:", "missing port"),
        ("1:2:3:zz:80", "too many colons"),
        ("a b:80", "not a valid name"),
        ("a/b:80", "not a valid name"),
    ],
)
def test_parse_host_port_errors(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_host_port(endpoint, 443)


@pytest.mark.parametrize(
    ("endpoint", "authority"),
    [
        ("localhost:50051", "localhost:50051"),
        (":50051", "localhost:50051"),
        ("[::1]:1", "[::1]:1"),
        ("a/b c", "a%2Fb%20c"),
    ],
)
def test_authority_for_endpoint(endpoint: str, authority: str) -> None:
    assert authority_for_endpoint(endpoint) == authority
