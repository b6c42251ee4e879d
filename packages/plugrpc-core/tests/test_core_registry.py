"""Registry behaviour with classes registered in code."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from plugrpc_core import (
    Balancer,
    ClientInterceptor,
    Codec,
    Compressor,
    Resolver,
    ServerInterceptor,
    StatsHandler,
)
from plugrpc_core.plugins import (
    InvalidPluginError,
    PluginConflictError,
    PluginNotFoundError,
    PluginOrigin,
    Registry,
    all_entries,
    balancers,
    codecs,
    compressors,
    interceptors,
    resolvers,
    stats_handlers,
)


def make_balancer(key: str) -> type[Balancer]:
    class Policy(Balancer):
        name = key

        def update_state(self, state: Any, config: Any) -> None:
            pass

        def resolver_error(self, error: str) -> None:
            pass

        def close(self) -> None:
            pass

    Policy.__qualname__ = f"Policy_{key}"
    return Policy


def make_resolver(key: str) -> type[Resolver]:
    class R(Resolver):
        scheme = key

        def start(self) -> None:
            pass

        def close(self) -> None:
            pass

    return R


class Upper(Codec):
    name = "sbx-json"

    def encode(self, message: Any) -> bytes:
        return bytes(message)

    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        return message_type(data)


def standalone(kind: str = "balancer", **kwargs: Any) -> Registry[Any]:
    """A registry of its own with no plugins, for exact messages."""
    options: dict[str, Any] = {
        "hook_name": "plugrpc_register_balancers",
        "key_attr": "name",
        "bases": (Balancer,),
        "lock": threading.RLock(),
        "collect": lambda hook: [],
        "skipped": list,
        "install_prefix": "plugrpc-balancer-",
    }
    options.update(kwargs)
    return Registry(kind=kind, **options)


def test_register_get_find_keys_entries_unregister(clean_registries):
    cls = make_balancer("sbx_rr")
    assert balancers.find("sbx_rr") is None
    assert "sbx_rr" not in balancers
    balancers.register(cls)
    assert balancers.get("sbx_rr") is cls
    assert balancers.find("sbx_rr") is cls
    assert "sbx_rr" in balancers
    assert "sbx_rr" in balancers.keys()
    assert balancers.keys() == sorted(balancers.keys())
    (entry,) = [e for e in balancers.entries() if e.key == "sbx_rr"]
    assert (entry.kind, entry.distribution, entry.version, entry.entry_point) == (
        "balancer",
        "<runtime>",
        None,
        None,
    )
    assert entry in all_entries()
    balancers.unregister("sbx_rr")
    assert balancers.find("sbx_rr") is None
    with pytest.raises(PluginNotFoundError):
        balancers.unregister("sbx_rr")


def test_registering_the_same_class_twice_is_a_no_op(clean_registries):
    cls = make_balancer("sbx_twice")
    balancers.register(cls)
    balancers.register(cls)
    assert [e.key for e in balancers.entries()].count("sbx_twice") == 1


def test_two_runtime_classes_with_one_key_conflict_unless_replace(clean_registries):
    first, second = make_balancer("sbx_dup"), make_balancer("sbx_dup")
    balancers.register(first, distribution="app-one")
    with pytest.raises(PluginConflictError) as info:
        balancers.register(second, distribution="app-two")
    assert "'sbx_dup'" in str(info.value)
    assert "app-one" in str(info.value) and "app-two" in str(info.value)
    assert balancers.get("sbx_dup") is first
    balancers.register(second, distribution="app-two", replace=True)
    assert balancers.get("sbx_dup") is second


def test_runtime_registration_replaces_a_builtin(clean_registries):
    builtin, mine = make_balancer("sbx_builtin"), make_balancer("sbx_builtin")
    balancers.register(builtin, distribution="plugrpc")
    (entry,) = [e for e in balancers.entries() if e.key == "sbx_builtin"]
    assert entry.builtin
    balancers.register(mine)
    assert balancers.get("sbx_builtin") is mine
    with pytest.raises(PluginConflictError):
        balancers.register(builtin, distribution="plugrpc-core")


def test_override_restores_the_previous_registration(clean_registries):
    original, temporary = make_balancer("sbx_over"), make_balancer("sbx_over")
    balancers.register(original)
    with balancers.override(temporary):
        assert balancers.get("sbx_over") is temporary
    assert balancers.get("sbx_over") is original
    with balancers.override(make_balancer("sbx_new")):
        assert "sbx_new" in balancers
    assert "sbx_new" not in balancers


class NoName(StatsHandler):
    def handle(self, event: Any) -> None:
        pass


class Abstract(Balancer):
    name = "sbx_abstract"


class BadScheme(Resolver):
    scheme = "Has_Upper"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class BadCompressor(Compressor):
    name = "g zip"

    def compress(self, data: bytes) -> bytes:
        return data

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return data


class UpperCodec(Upper):
    name = "JSON"


@pytest.mark.parametrize(
    ("registry", "cls", "message"),
    [
        (balancers, "not a class", "which is not a class"),
        (balancers, make_resolver("x"), "does not subclass plugrpc_core._balancing.Balancer"),
        (balancers, Abstract, "is abstract (does not implement: close, resolver_error"),
        (stats_handlers, NoName, "needs a non-empty string 'name' class attribute"),
        (interceptors, ClientInterceptor, "with name=''"),
        (resolvers, BadScheme, "invalid scheme='Has_Upper'"),
        (compressors, BadCompressor, "must be an HTTP token"),
        (codecs, UpperCodec, "must be lowercase"),
    ],
)
def test_invalid_classes_are_rejected(clean_registries, registry, cls, message):
    with pytest.raises(InvalidPluginError) as info:
        registry.register(cls)
    assert message in str(info.value)
    assert "<runtime>" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_interceptors_accept_client_and_server_interceptors(clean_registries):
    class Client(ClientInterceptor):
        name = "sbx_client"

    class Server(ServerInterceptor):
        name = "sbx_server"

        async def intercept_service(self, continuation: Any, details: Any) -> Any:
            return await continuation(details)

    interceptors.register(Client)
    interceptors.register(Server)
    assert interceptors.get("sbx_client") is Client
    assert interceptors.get("sbx_server") is Server


def test_codec_lookup_ignores_case(clean_registries):
    codecs.register(Upper)
    assert codecs.get("SBX-JSON") is Upper
    assert codecs.find("Sbx-Json") is Upper


def test_balancer_lookup_is_case_sensitive_and_suggests(clean_registries):
    balancers.register(make_balancer("sbx_case"))
    assert balancers.find("SBX_CASE") is None
    with pytest.raises(PluginNotFoundError, match=r"did you mean 'sbx_case'\?"):
        balancers.get("SBX_CASE")


def test_not_found_message_matches_the_documented_form():
    registry = standalone(
        hints={"ring_hash_experimental": "plugrpc-balancer-ring-hash"},
    )
    registry.register(make_balancer("pick_first"), distribution="plugrpc")
    registry.register(make_balancer("round_robin"))
    with pytest.raises(PluginNotFoundError) as info:
        registry.get("ring_hash_experimental")
    assert str(info.value) == (
        "no balancer named 'ring_hash_experimental'; installed: pick_first, round_robin; "
        "pip install plugrpc-balancer-ring-hash"
    )
    assert info.value.installed == ("pick_first", "round_robin")
    assert info.value.kind == "balancer"
    assert info.value.key == "ring_hash_experimental"


def test_not_found_with_nothing_installed():
    registry = standalone()
    with pytest.raises(PluginNotFoundError) as info:
        registry.get("weird key!")
    assert str(info.value) == "no balancer named 'weird key!'; installed: none"
    assert info.value.install is None


@pytest.mark.parametrize(
    ("registry", "key", "install"),
    [
        (balancers, "ring_hash_experimental", "plugrpc-balancer-ring-hash"),
        (balancers, "least_request_experimental", "plugrpc-balancer-least-request"),
        (balancers, "outlier_detection_experimental", "plugrpc-balancer-outlier-detection"),
        (balancers, "weighted_round_robin", "plugrpc-balancer-weighted-round-robin"),
        (balancers, "round_robin", "plugrpc-balancer-round-robin"),
        (balancers, "my.policy_v2", "plugrpc-balancer-my-policy-v2"),
        (balancers, "pick_first", "plugrpc"),
        (codecs, "proto", "plugrpc-codec-proto"),
        (codecs, "json", "plugrpc-codec-json"),
        (compressors, "gzip", "plugrpc-compress-gzip"),
        (compressors, "deflate", "plugrpc-compress-deflate"),
        (compressors, "zstd", "plugrpc-compress-zstd"),
        (resolvers, "dns", "plugrpc"),
        (resolvers, "xds", "plugrpc-resolver-xds"),
        (resolvers, "unix-abstract", "plugrpc"),
    ],
)
def test_install_hints(registry, key, install):
    assert registry.install_hint(key) == install


def test_resolver_message_speaks_of_schemes():
    registry = standalone(
        kind="resolver", key_label="for scheme", install_prefix="plugrpc-resolver-"
    )
    with pytest.raises(
        PluginNotFoundError,
        match=r"^no resolver for scheme 'xds'; installed: none; "
        r"pip install plugrpc-resolver-xds$",
    ):
        registry.get("xds")


def test_a_registry_filled_by_its_collector_attributes_origins():
    calls: list[str] = []
    policy = make_balancer("sbx_collected")

    def collect(hook: str) -> list[tuple[PluginOrigin, Any]]:
        calls.append(hook)
        return [
            (
                PluginOrigin(distribution="plugrpc-balancer-x", version="2", entry_point="x"),
                [policy],
            )
        ]

    registry = standalone(collect=collect)
    assert calls == []  # lazy
    assert registry.get("sbx_collected") is policy
    assert registry.keys() == ["sbx_collected"]
    assert calls == ["plugrpc_register_balancers"]
    (entry,) = registry.entries()
    assert (entry.distribution, entry.version, entry.entry_point) == (
        "plugrpc-balancer-x",
        "2",
        "x",
    )
    registry.reset()
    registry.get("sbx_collected")
    assert len(calls) == 2


def test_hook_results_must_be_lists_of_classes():
    registry = standalone(collect=lambda hook: [(PluginOrigin(distribution="d"), "oops")])
    with pytest.raises(InvalidPluginError, match="returned 'oops'; it must return a list"):
        registry.keys()
