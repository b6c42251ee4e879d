"""Plugin discovery: the one pluggy manager, the ``plugrpc`` entry points and the switches.

Theory of operation: the manager is created on first use with the hookspecs of
``_hookspecs``; nothing else happens until a registry needs its classes. Then, once per
process, every entry point of the ``plugrpc`` group is loaded and registered under its
entry-point name, built-in distributions first, honouring three switches read at that
moment (the style of pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` and ``-p no:name``):

- ``PLUGRPC_DISABLE_PLUGIN_AUTOLOAD=1``: load only the built-in distributions' entry points;
- ``PLUGRPC_PLUGINS=a,b``: load only these entry-point names (built-ins always load);
- ``PLUGRPC_BLOCK_PLUGINS=a,b``: never load these entry-point names (built-ins included).

Each registry then calls its hook's implementations one by one (``collect``), so every class
is attributed to the distribution that returned it. pluggy is never called again until
``reset``: lookups are plain dict reads (pluggy calls cost several times a loop; DESIGN 3).
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from typing import TYPE_CHECKING, Any

import pluggy

from . import _hookspecs
from ._plugin_base import (
    ENTRY_POINT_GROUP,
    ENV_ALLOW,
    ENV_BLOCK,
    ENV_DISABLE_AUTOLOAD,
    RUNTIME_DISTRIBUTION,
    InvalidPluginError,
    PluginConflictError,
    PluginLoadError,
    PluginOrigin,
    SkippedEntryPoint,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["LOCK", "collect", "get_plugin_manager", "reset", "skipped_entry_points"]

#: Guards the manager, the loading step and every registry's table. Re-entrant so that a
#: registry may load entry points while holding it.
LOCK = threading.RLock()

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class _State:
    """Everything ``reset`` drops."""

    __slots__ = ("loaded", "loading", "origins", "pm", "skipped")

    def __init__(self) -> None:
        self.pm: pluggy.PluginManager | None = None
        self.loaded = False
        self.loading = False
        self.origins: dict[str, PluginOrigin] = {}
        self.skipped: list[SkippedEntryPoint] = []


_state = _State()


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy manager of project ``plugrpc``, with the hookspecs added.

    Entry points are not loaded by this call; they load on the first registry lookup. An
    object registered here before that lookup (``get_plugin_manager().register(hooks)``)
    contributes to the registries like an entry point, as distribution ``<runtime>``.
    ``reload_plugins()`` replaces the manager: register such objects again after it.
    """
    pm = _state.pm
    if pm is not None:
        return pm
    with LOCK:
        if _state.pm is None:
            pm = pluggy.PluginManager(_hookspecs.HOOK_PROJECT)
            pm.add_hookspecs(_hookspecs)
            _state.pm = pm
        return _state.pm


def reset() -> None:
    """Forget the manager, the loaded entry points and what was skipped."""
    global _state
    with LOCK:
        if _state.loading:
            raise PluginLoadError("reload_plugins() was called while plugins were loading")
        _state = _State()


def skipped_entry_points() -> list[SkippedEntryPoint]:
    """Entry points the switches kept from loading (entry points load first if needed)."""
    with LOCK:
        _ensure_loaded()
        return list(_state.skipped)


def collect(hook_name: str) -> list[tuple[PluginOrigin, Any]]:
    """Call every implementation of ``hook_name`` once; return ``(origin, result)`` pairs.

    Implementations are called in pluggy's registration order (built-in distributions first).

    Raises:
        PluginLoadError: an entry point failed to load, or an implementation raised.
        InvalidPluginError: an implementation is a hook wrapper (registry hooks are plain).
    """
    with LOCK:
        pm = _ensure_loaded()
        caller = getattr(pm.hook, hook_name)
        results: list[tuple[PluginOrigin, Any]] = []
        for impl in caller.get_hookimpls():
            origin = _state.origins.get(impl.plugin_name) or PluginOrigin(
                distribution=RUNTIME_DISTRIBUTION
            )
            if impl.hookwrapper or impl.wrapper:
                raise InvalidPluginError(
                    f"{hook_name} of {origin.describe()} is a hook wrapper; registry hooks "
                    "must be plain @hookimpl functions that return classes"
                )
            try:
                result = impl.function()
            except Exception as exc:
                raise PluginLoadError(
                    f"{hook_name} of {origin.describe()} raised {exc!r}; fix or uninstall it, "
                    f"or block it with {ENV_BLOCK}={origin.entry_point or '<name>'}"
                ) from exc
            results.append((origin, result))
        return results


def _ensure_loaded() -> pluggy.PluginManager:
    pm = get_plugin_manager()
    if _state.loaded:
        return pm
    if _state.loading:
        raise PluginLoadError(
            "a plugin registry was used while plugins were still loading (does a plugin's "
            "hooks module look plugins up at import time? it must only name its classes)"
        )
    _state.loading = True
    try:
        _load_entry_points(pm)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or ""
            raise _invalid(_state.origins.get(name), exc) from exc
    except BaseException:
        # A fresh manager next time, so a fixed environment loads cleanly.
        _state.pm = None
        _state.origins.clear()
        _state.skipped.clear()
        raise
    finally:
        _state.loading = False
    _state.loaded = True
    return pm


def _env_names(variable: str) -> frozenset[str] | None:
    """Comma-separated names from the environment; None when unset or empty."""
    value = os.environ.get(variable, "")
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    return names or None


def _env_flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() not in _FALSE_WORDS


def _origin_of(ep: importlib.metadata.EntryPoint) -> PluginOrigin:
    dist = ep.dist
    if dist is None:  # pragma: no cover - entry points found through distributions have one
        return PluginOrigin(distribution="<unknown>", entry_point=ep.name)
    return PluginOrigin(
        distribution=dist.name or "<unknown>", version=dist.version, entry_point=ep.name
    )


def _ordered(
    eps: Iterable[importlib.metadata.EntryPoint],
) -> list[tuple[importlib.metadata.EntryPoint, PluginOrigin]]:
    """Built-ins first, then by distribution and entry-point name: a stable load order."""
    pairs = [(ep, _origin_of(ep)) for ep in eps]
    pairs.sort(key=lambda p: (not p[1].builtin, p[1].distribution.lower(), p[0].name))
    return pairs


def _skip_reason(
    origin: PluginOrigin,
    *,
    disabled: bool,
    allow: frozenset[str] | None,
    block: frozenset[str],
) -> str | None:
    name = origin.entry_point or ""
    if name in block:
        return f"blocked by {ENV_BLOCK}"
    if origin.builtin:
        return None
    if disabled:
        return f"autoload disabled by {ENV_DISABLE_AUTOLOAD}"
    if allow is not None and name not in allow:
        return f"not listed in {ENV_ALLOW}"
    return None


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    disabled = _env_flag(ENV_DISABLE_AUTOLOAD)
    allow = _env_names(ENV_ALLOW)
    block = _env_names(ENV_BLOCK) or frozenset()
    for ep, origin in _ordered(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)):
        reason = _skip_reason(origin, disabled=disabled, allow=allow, block=block)
        if reason is not None:
            _state.skipped.append(
                SkippedEntryPoint(
                    name=ep.name,
                    distribution=origin.distribution,
                    version=origin.version,
                    reason=reason,
                )
            )
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginLoadError(
                f"cannot load plugrpc plugin {origin.describe()} ({ep.value}): {exc!r}; "
                f"fix or uninstall it, or block it with {ENV_BLOCK}={ep.name}"
            ) from exc
        if pm.is_registered(plugin):
            # Two entry points naming one hooks module: its hooks must run once only.
            continue
        if pm.has_plugin(ep.name):
            first = _state.origins.get(ep.name) or PluginOrigin(distribution=RUNTIME_DISTRIBUTION)
            raise PluginConflictError(
                f"two distributions declare the plugrpc entry point {ep.name!r}: "
                f"{first.describe()} and {origin.describe()}; uninstall one of them"
            )
        _state.origins[ep.name] = origin
        try:
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as exc:
            raise _invalid(origin, exc) from exc


def _invalid(origin: PluginOrigin | None, exc: pluggy.PluginValidationError) -> PluginLoadError:
    """A load error naming the distribution behind a plugin pluggy rejected."""
    if origin is None:
        origin = PluginOrigin(distribution=RUNTIME_DISTRIBUTION)
    return PluginLoadError(
        f"invalid plugrpc plugin {origin.describe()}: {exc}; fix or uninstall it, "
        f"or block it with {ENV_BLOCK}={origin.entry_point or '<name>'}"
    )
