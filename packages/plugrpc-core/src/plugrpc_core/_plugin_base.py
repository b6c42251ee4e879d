"""Plugin vocabulary shared by the loader and the registries: errors, entries, origins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILTIN_DISTRIBUTIONS",
    "ENTRY_POINT_GROUP",
    "ENV_ALLOW",
    "ENV_BLOCK",
    "ENV_DISABLE_AUTOLOAD",
    "RUNTIME_DISTRIBUTION",
    "InvalidPluginError",
    "PluginConflictError",
    "PluginEntry",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "PluginOrigin",
    "SkippedEntryPoint",
    "canonical_distribution_name",
]

#: The entry-point group every plugin distribution declares (``[project.entry-points.plugrpc]``).
ENTRY_POINT_GROUP = "plugrpc"

#: Distributions whose plugins are built in: they always load, and any other distribution
#: registering the same key replaces them (pytest's essential/default plugins).
BUILTIN_DISTRIBUTIONS = frozenset({"plugrpc", "plugrpc-core"})

#: The distribution recorded for classes registered in code with ``Registry.register``.
RUNTIME_DISTRIBUTION = "<runtime>"

ENV_DISABLE_AUTOLOAD = "PLUGRPC_DISABLE_PLUGIN_AUTOLOAD"
ENV_ALLOW = "PLUGRPC_PLUGINS"
ENV_BLOCK = "PLUGRPC_BLOCK_PLUGINS"

_NAME_SEPARATORS = re.compile(r"[-_.]+")


def canonical_distribution_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``Plugrpc_Core`` -> ``plugrpc-core``)."""
    return _NAME_SEPARATORS.sub("-", name).lower()


class PluginError(Exception):
    """Base class of every plugin-system error."""


class PluginNotFoundError(PluginError, LookupError):
    """No plugin is registered under the requested key.

    The message says what was asked for, what is installed and what to install. The same
    facts are attributes, for programs.

    Attributes:
        kind: the registry's kind (``balancer``).
        key: the key that was asked for.
        installed: the keys that are registered, sorted.
        install: the distribution that would provide ``key``, if one is known or guessed.
    """

    def __init__(
        self, message: str, *, kind: str, key: str, installed: tuple[str, ...], install: str | None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.key = key
        self.installed = installed
        self.install = install

    def __str__(self) -> str:
        return str(self.args[0])


class PluginConflictError(PluginError):
    """Two plugins that are not built in register the same key."""


class InvalidPluginError(PluginError, TypeError):
    """A hook returned something that is not a valid plugin class for its registry."""


class PluginLoadError(PluginError):
    """An entry point failed to import or register, or a hook raised."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginOrigin:
    """Where a hook implementation came from.

    Attributes:
        distribution: the distribution's name as its metadata spells it, or ``<runtime>``.
        version: the distribution's version, or None.
        entry_point: the entry-point name, or None for objects registered in code.
    """

    distribution: str
    version: str | None = None
    entry_point: str | None = None

    @property
    def builtin(self) -> bool:
        """Whether this origin is one of the built-in distributions."""
        return canonical_distribution_name(self.distribution) in BUILTIN_DISTRIBUTIONS

    def describe(self) -> str:
        """``plugrpc-x 1.0 (entry point 'x')``, for error messages."""
        text = self.distribution
        if self.version:
            text += f" {self.version}"
        if self.entry_point:
            text += f" (entry point {self.entry_point!r})"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginEntry:
    """One registered plugin class.

    Attributes:
        kind: the registry's kind (``balancer``, ``resolver``, ``codec``...).
        key: the registry key (``round_robin``, ``dns``, ``proto``...).
        cls: the registered class.
        distribution: the distribution that registered it (``<runtime>`` for code).
        version: that distribution's version, if known.
        entry_point: the entry-point name it came through, if any.
    """

    kind: str
    key: str
    cls: type[Any]
    distribution: str
    version: str | None = None
    entry_point: str | None = None

    @property
    def builtin(self) -> bool:
        """Whether the class comes from a built-in distribution (``plugrpc``, ``plugrpc-core``)."""
        return canonical_distribution_name(self.distribution) in BUILTIN_DISTRIBUTIONS

    @property
    def class_path(self) -> str:
        """``module:QualifiedName`` of the class."""
        return f"{self.cls.__module__}:{self.cls.__qualname__}"

    def describe(self) -> str:
        """``pkg.mod:Class from dist 1.0 (entry point 'ep')``, for error messages."""
        origin = PluginOrigin(
            distribution=self.distribution, version=self.version, entry_point=self.entry_point
        )
        return f"{self.class_path} from {origin.describe()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedEntryPoint:
    """An entry point of the ``plugrpc`` group that was not loaded, and why.

    Attributes:
        name: the entry-point name.
        distribution: the distribution that declares it.
        version: that distribution's version.
        reason: which switch skipped it (e.g. ``blocked by PLUGRPC_BLOCK_PLUGINS``).
    """

    name: str
    distribution: str
    version: str | None
    reason: str
