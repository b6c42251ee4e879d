"""The process-wide registries, one per hook, and ``reload_plugins``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import _loader
from ._balancing import Balancer
from ._calls import ClientInterceptor, ServerInterceptor
from ._credentials import CallCredentials, ChannelCredentials, ServerCredentials
from ._encoding import Codec, Compressor
from ._naming import Resolver
from ._registry import Registry
from ._stats import StatsHandler

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._plugin_base import PluginEntry

__all__ = [
    "ALL_REGISTRIES",
    "all_entries",
    "balancers",
    "call_credentials",
    "channel_credentials",
    "codecs",
    "compressors",
    "interceptors",
    "reload_plugins",
    "resolvers",
    "server_credentials",
    "stats_handlers",
]

# RFC 3986 section 3.1; lowercase because target parsing lowercases the scheme (naming.md).
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*\Z")
# RFC 9110 section 5.6.2 "token": what may stand in grpc-encoding and in a content-subtype.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def _check_scheme(key: str) -> str | None:
    if _SCHEME.match(key):
        return None
    return "a scheme is lowercase letters, digits, '+', '-' or '.', starting with a letter"


def _check_token(key: str) -> str | None:
    if _TOKEN.match(key):
        return None
    return "it must be an HTTP token (RFC 9110 section 5.6.2): no spaces, commas or slashes"


def _check_subtype(key: str) -> str | None:
    if key != key.lower():
        return "content-subtypes are matched in lowercase, so the name must be lowercase"
    return _check_token(key)


def _check_plain(key: str) -> str | None:
    if key != key.strip():
        return "it has leading or trailing whitespace"
    return None


def _make(
    kind: str,
    hook_name: str,
    bases: tuple[type[Any], ...],
    install_prefix: str,
    *,
    key_attr: str = "name",
    key_label: str = "named",
    hints: Mapping[str, str] | None = None,
    key_check: Callable[[str], str | None] = _check_plain,
    fold_case: bool = False,
) -> Registry[Any]:
    return Registry(
        kind=kind,
        hook_name=hook_name,
        key_attr=key_attr,
        bases=bases,
        lock=_loader.LOCK,
        collect=_loader.collect,
        skipped=_loader.skipped_entry_points,
        install_prefix=install_prefix,
        hints=hints,
        key_label=key_label,
        key_check=key_check,
        fold_case=fold_case,
    )


balancers: Registry[Balancer] = _make(
    "balancer",
    "plugrpc_register_balancers",
    (Balancer,),
    "plugrpc-balancer-",
    hints={
        "pick_first": "plugrpc",
        "ring_hash_experimental": "plugrpc-balancer-ring-hash",
        "least_request_experimental": "plugrpc-balancer-least-request",
        "outlier_detection_experimental": "plugrpc-balancer-outlier-detection",
        "weighted_round_robin": "plugrpc-balancer-weighted-round-robin",
    },
)
resolvers: Registry[Resolver] = _make(
    "resolver",
    "plugrpc_register_resolvers",
    (Resolver,),
    "plugrpc-resolver-",
    key_attr="scheme",
    key_label="for scheme",
    hints={
        "dns": "plugrpc",
        "passthrough": "plugrpc",
        "unix": "plugrpc",
        "unix-abstract": "plugrpc",
    },
    key_check=_check_scheme,
)
codecs: Registry[Codec] = _make(
    "codec",
    "plugrpc_register_codecs",
    (Codec,),
    "plugrpc-codec-",
    key_label="for content-subtype",
    hints={"proto": "plugrpc-codec-proto"},
    key_check=_check_subtype,
    fold_case=True,
)
compressors: Registry[Compressor] = _make(
    "compressor",
    "plugrpc_register_compressors",
    (Compressor,),
    "plugrpc-compress-",
    hints={"gzip": "plugrpc-compress-gzip", "deflate": "plugrpc-compress-deflate"},
    key_check=_check_token,
)
channel_credentials: Registry[ChannelCredentials] = _make(
    "channel_credentials",
    "plugrpc_register_channel_credentials",
    (ChannelCredentials,),
    "plugrpc-credentials-",
    hints={"insecure": "plugrpc", "tls": "plugrpc-credentials-tls"},
)
call_credentials: Registry[CallCredentials] = _make(
    "call_credentials",
    "plugrpc_register_call_credentials",
    (CallCredentials,),
    "plugrpc-credentials-",
)
server_credentials: Registry[ServerCredentials] = _make(
    "server_credentials",
    "plugrpc_register_server_credentials",
    (ServerCredentials,),
    "plugrpc-credentials-",
    hints={"insecure": "plugrpc", "tls": "plugrpc-credentials-tls"},
)
interceptors: Registry[ClientInterceptor | ServerInterceptor] = _make(
    "interceptor",
    "plugrpc_register_interceptors",
    (ClientInterceptor, ServerInterceptor),
    "plugrpc-interceptor-",
)
stats_handlers: Registry[StatsHandler] = _make(
    "stats_handler",
    "plugrpc_register_stats_handlers",
    (StatsHandler,),
    "plugrpc-stats-",
    hints={"otel": "plugrpc-otel", "opentelemetry": "plugrpc-otel"},
)

#: Every registry, in the order ``python -m plugrpc plugins`` lists kinds.
ALL_REGISTRIES: tuple[Registry[Any], ...] = (
    balancers,
    call_credentials,
    channel_credentials,
    codecs,
    compressors,
    interceptors,
    resolvers,
    server_credentials,
    stats_handlers,
)


def reload_plugins() -> None:
    """Drop every plugin and registration, then load the installed plugins again.

    For tests, and for applications that installed a plugin while running. Classes added
    with ``Registry.register`` and objects registered on the old plugin manager are gone
    afterwards. Loading happens now, so a broken installation raises here.

    Raises:
        PluginConflictError, InvalidPluginError, PluginLoadError: the installed plugins are
            broken (the registries stay empty and retry on their next lookup).
    """
    with _loader.LOCK:
        _loader.reset()
        for registry in ALL_REGISTRIES:
            registry.reset()
        for registry in ALL_REGISTRIES:
            registry.load()


def all_entries() -> list[PluginEntry]:
    """Every registered plugin of every kind, sorted by kind, then key."""
    out: list[PluginEntry] = []
    for registry in ALL_REGISTRIES:
        out.extend(registry.entries())
    out.sort(key=lambda e: (e.kind, e.key))
    return out
