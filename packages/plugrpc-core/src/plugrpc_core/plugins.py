"""plugrpc's plugin system: pluggy hooks, entry-point discovery and the registries.

A plugin distribution declares an entry point in the ``plugrpc`` group that names its hooks
module, and the hooks return classes::

    # pyproject.toml
    [project.entry-points.plugrpc]
    balancer-round-robin = "plugrpc_balancer_round_robin._hooks"

    # plugrpc_balancer_round_robin/_hooks.py
    from plugrpc_core.plugins import hookimpl
    from ._policy import RoundRobin          # RoundRobin.name == "round_robin"

    @hookimpl
    def plugrpc_register_balancers():
        return [RoundRobin]

Channels and servers look classes up by key: ``plugins.balancers.get("round_robin")``.
Entry points load once, lazily, at the first lookup; switches (read at that moment):
``PLUGRPC_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the built-in distributions (``plugrpc``,
``plugrpc-core``), ``PLUGRPC_PLUGINS=a,b`` loads only these entry-point names besides the
built-ins, ``PLUGRPC_BLOCK_PLUGINS=a,b`` never loads these. ``python -m plugrpc plugins``
lists what is registered.
"""

from __future__ import annotations

from ._hookspecs import hookimpl, hookspec
from ._loader import get_plugin_manager, skipped_entry_points
from ._plugin_base import (
    InvalidPluginError,
    PluginConflictError,
    PluginEntry,
    PluginError,
    PluginLoadError,
    PluginNotFoundError,
    PluginOrigin,
    SkippedEntryPoint,
)
from ._registries import (
    all_entries,
    balancers,
    call_credentials,
    channel_credentials,
    codecs,
    compressors,
    interceptors,
    reload_plugins,
    resolvers,
    server_credentials,
    stats_handlers,
)
from ._registry import Registry

__all__ = [
    "InvalidPluginError",
    "PluginConflictError",
    "PluginEntry",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "PluginOrigin",
    "Registry",
    "SkippedEntryPoint",
    "all_entries",
    "balancers",
    "call_credentials",
    "channel_credentials",
    "codecs",
    "compressors",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "interceptors",
    "reload_plugins",
    "resolvers",
    "server_credentials",
    "skipped_entry_points",
    "stats_handlers",
]
