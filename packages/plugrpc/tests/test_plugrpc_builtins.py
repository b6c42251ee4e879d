"""plugrpc's built-in plugins: the hooks, the entry point and the insecure credentials."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

import pytest
from plugrpc import _builtin_hooks
from plugrpc._insecure import InsecureChannelCredentials, InsecureServerCredentials
from plugrpc._pick_first import PickFirst
from plugrpc._resolvers import DnsResolver, PassthroughResolver, UnixAbstractResolver, UnixResolver
from plugrpc_core import ChannelCredentials, ServerCredentials, plugins

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_hooks_return_the_built_in_classes() -> None:
    resolvers = _builtin_hooks.plugrpc_register_resolvers()
    assert {cls.scheme for cls in resolvers} == {"dns", "passthrough", "unix", "unix-abstract"}
    assert set(resolvers) == {DnsResolver, PassthroughResolver, UnixResolver, UnixAbstractResolver}
    assert list(_builtin_hooks.plugrpc_register_balancers()) == [PickFirst]
    assert list(_builtin_hooks.plugrpc_register_channel_credentials()) == [
        InsecureChannelCredentials
    ]
    assert list(_builtin_hooks.plugrpc_register_server_credentials()) == [InsecureServerCredentials]


def test_entry_point_is_declared() -> None:
    with PYPROJECT.open("rb") as f:
        project = tomllib.load(f)["project"]
    assert project["entry-points"]["plugrpc"]["builtins"] == "plugrpc._builtin_hooks"


def test_installed_entry_point_registers_the_built_ins() -> None:
    names = {ep.name for ep in importlib.metadata.distribution("plugrpc").entry_points}
    if "builtins" not in names:
        pytest.skip("installed before the entry point existed: run `hatch env prune`")
    checks: list[tuple[plugins.Registry[Any], str, type]] = [
        (plugins.resolvers, "dns", DnsResolver),
        (plugins.resolvers, "unix-abstract", UnixAbstractResolver),
        (plugins.balancers, "pick_first", PickFirst),
        (plugins.channel_credentials, "insecure", InsecureChannelCredentials),
        (plugins.server_credentials, "insecure", InsecureServerCredentials),
    ]
    for registry, key, cls in checks:
        (entry,) = [e for e in registry.entries() if e.key == key]
        if entry.distribution == "plugrpc":
            assert entry.cls is cls


def test_insecure_channel_credentials() -> None:
    credentials = InsecureChannelCredentials()
    assert isinstance(credentials, ChannelCredentials)
    assert credentials.name == "insecure"
    assert credentials.client_ssl_context() is None
    assert credentials.server_hostname("example.com") is None
    assert credentials.authority_override() is None
    assert credentials.is_secure is False


def test_insecure_server_credentials() -> None:
    credentials = InsecureServerCredentials()
    assert isinstance(credentials, ServerCredentials)
    assert credentials.name == "insecure"
    assert credentials.server_ssl_context() is None
