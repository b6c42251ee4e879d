"""The pluggy hook specifications of plugrpc: one hook per plugin registry.

Every hook takes no arguments and returns a list of classes. Each class carries its registry
key as a class attribute (grpc-go's ``Builder.Name()`` / ``Builder.Scheme()``), so a
distribution's hooks module stays a cheap import: it names classes, it builds nothing.

Each spec's docstring says:

- Key: the class attribute that holds the registry key and what it must match on the wire
  or in configuration.
- Called: when plugrpc calls the hook. All hooks run once per process (again only after
  ``reload_plugins()``), at the first lookup in their registry, never per channel or call.
- Thread/loop: hooks run on whichever thread makes the first lookup, outside any event loop
  guarantee; they must not block or do I/O.

Registering a class never activates anything by itself: a channel looks balancers, resolvers,
codecs, compressors and credentials up by the name its target, service config or options
give; interceptors and stats handlers stay off until a channel or server option names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._balancing import Balancer
    from ._calls import ClientInterceptor, ServerInterceptor
    from ._credentials import CallCredentials, ChannelCredentials, ServerCredentials
    from ._encoding import Codec, Compressor
    from ._naming import Resolver
    from ._stats import StatsHandler

__all__ = [
    "HOOK_PROJECT",
    "hookimpl",
    "hookspec",
    "plugrpc_register_balancers",
    "plugrpc_register_call_credentials",
    "plugrpc_register_channel_credentials",
    "plugrpc_register_codecs",
    "plugrpc_register_compressors",
    "plugrpc_register_interceptors",
    "plugrpc_register_resolvers",
    "plugrpc_register_server_credentials",
    "plugrpc_register_stats_handlers",
]

#: The pluggy project name; also the entry-point group that plugin distributions use.
HOOK_PROJECT = "plugrpc"

hookspec = pluggy.HookspecMarker(HOOK_PROJECT)
hookimpl = pluggy.HookimplMarker(HOOK_PROJECT)


# -------------------------------------------------------------------------------------------
# Channel plumbing: how a target becomes connections
# -------------------------------------------------------------------------------------------


@hookspec
def plugrpc_register_resolvers() -> Sequence[type[Resolver]]:
    """Name resolvers.

    Key: ``Resolver.scheme``, the target URI scheme in lowercase (``dns``, ``unix``, ``xds``).

    Called: once, at the first resolver lookup (normally a channel's construction).

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_balancers() -> Sequence[type[Balancer]]:
    """Load-balancing policies.

    Key: ``Balancer.name``, the policy name used in service config (``round_robin``), matched
    case-sensitively as grpc-go does.

    Called: once, at the first balancer lookup (parsing a service config or building a channel).

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_channel_credentials() -> Sequence[type[ChannelCredentials]]:
    """Channel (transport) credentials types.

    Key: ``ChannelCredentials.name`` (``insecure``, ``tls``).

    Called: once, at the first channel-credentials lookup.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_call_credentials() -> Sequence[type[CallCredentials]]:
    """Per-call credentials types (tokens added as metadata).

    Key: ``CallCredentials.name`` (``oauth2``, ``jwt``).

    Called: once, at the first call-credentials lookup.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_server_credentials() -> Sequence[type[ServerCredentials]]:
    """Server credentials types.

    Key: ``ServerCredentials.name`` (``insecure``, ``tls``).

    Called: once, at the first server-credentials lookup.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


# -------------------------------------------------------------------------------------------
# Messages: how payloads become bytes
# -------------------------------------------------------------------------------------------


@hookspec
def plugrpc_register_codecs() -> Sequence[type[Codec]]:
    """Message codecs.

    Key: ``Codec.name``, the content-subtype of ``application/grpc+<name>``, in lowercase
    (PROTOCOL-HTTP2 "Content-Type"; lookups ignore case, as grpc-go's do).

    Called: once, at the first codec lookup.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_compressors() -> Sequence[type[Compressor]]:
    """Message compressors.

    Key: ``Compressor.name``, the ``grpc-encoding`` token (``gzip``, ``deflate``), matched
    exactly (compression.md).

    Called: once, at the first compressor lookup.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


# -------------------------------------------------------------------------------------------
# Observation and interception: registered here, activated by name elsewhere
# -------------------------------------------------------------------------------------------


@hookspec
def plugrpc_register_interceptors() -> Sequence[type[ClientInterceptor | ServerInterceptor]]:
    """Client or server interceptors that a channel or server option may enable by name.

    Key: ``ClientInterceptor.name`` / ``ServerInterceptor.name`` (non-empty).

    Called: once, at the first interceptor lookup. Registration never activates one.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called


@hookspec
def plugrpc_register_stats_handlers() -> Sequence[type[StatsHandler]]:
    """Stats handlers that a channel or server option may enable by name.

    Key: ``StatsHandler.name``.

    Called: once, at the first stats-handler lookup. Registration never activates one.

    Thread/loop: any thread; return classes only, build nothing.
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called
