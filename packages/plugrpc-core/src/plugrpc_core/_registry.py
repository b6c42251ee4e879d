"""``Registry``: key -> plugin class, filled once from a pluggy hook, read as a plain dict.

Rules (DESIGN 3):

- a class must subclass the registry's base, be concrete, and carry a non-empty key in its
  key attribute (``name`` or ``scheme``); anything else is an ``InvalidPluginError`` naming
  the distribution that returned it;
- a class from a built-in distribution (``plugrpc``, ``plugrpc-core``) is replaced by a class
  of the same key from any other distribution (a third-party ``dns`` resolver replaces the
  getaddrinfo one); two classes of one key from distributions that are not built in are a
  ``PluginConflictError`` naming both;
- lookups after the first are one dict read, with no lock and no pluggy call: the tables are
  replaced whole (copy on write) under the lock, never mutated in place.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._plugin_base import (
    ENV_BLOCK,
    RUNTIME_DISTRIBUTION,
    InvalidPluginError,
    PluginConflictError,
    PluginEntry,
    PluginLoadError,
    PluginNotFoundError,
    PluginOrigin,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterator, Mapping

    from ._plugin_base import SkippedEntryPoint

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """The classes of one plugin kind, by key.

    Args:
        kind: ``PluginEntry.kind`` (``balancer``, ``channel_credentials``); messages use it
            with spaces for underscores.
        hook_name: the pluggy hook that fills the registry.
        key_attr: the class attribute holding the key (``name``, ``scheme``).
        bases: the classes a registered class must subclass (any one of them).
        lock: the lock shared with the loader.
        collect: calls the hook's implementations and returns ``(origin, result)`` pairs.
        skipped: lists the entry points the switches kept out (for not-found messages).
        install_prefix: the distribution-name prefix used to guess an install hint
            (``plugrpc-balancer-``).
        hints: known key -> distribution exceptions to the guessed hint.
        key_label: how messages introduce a key (``named``, ``for scheme``).
        key_check: returns a reason when a key is malformed for this kind, else None.
        fold_case: lookups fall back to the lowercased key (content-subtypes ignore case).
    """

    def __init__(
        self,
        *,
        kind: str,
        hook_name: str,
        key_attr: str,
        bases: tuple[type[Any], ...],
        lock: threading.RLock,
        collect: Callable[[str], list[tuple[PluginOrigin, Any]]],
        skipped: Callable[[], list[SkippedEntryPoint]],
        install_prefix: str,
        hints: Mapping[str, str] | None = None,
        key_label: str = "named",
        key_check: Callable[[str], str | None] | None = None,
        fold_case: bool = False,
    ) -> None:
        self.kind = kind
        self.noun = kind.replace("_", " ")
        self.hook_name = hook_name
        self.key_attr = key_attr
        self.bases = bases
        self._lock = lock
        self._collect = collect
        self._skipped = skipped
        self._install_prefix = install_prefix
        self._hints = dict(hints or {})
        self._key_label = key_label
        self._key_check = key_check
        self._fold_case = fold_case
        self._classes: dict[str, type[T]] | None = None
        self._entries: dict[str, PluginEntry] = {}
        self._building = False

    def __repr__(self) -> str:
        return f"<Registry {self.kind!r} filled by {self.hook_name}>"

    # -- lookups (hot) ------------------------------------------------------------------

    def get(self, key: str) -> type[T]:
        """The class registered under ``key``.

        Raises:
            PluginNotFoundError: nothing is registered under ``key``; the message lists what
                is installed and which distribution to install.
            PluginConflictError, InvalidPluginError, PluginLoadError: on the first lookup,
                when the installed plugins are broken.
        """
        classes = self._classes
        if classes is None:
            classes = self._load()
        cls = classes.get(key)
        if cls is None:
            if self._fold_case:
                cls = classes.get(key.lower())
            if cls is None:
                raise self._not_found(key)
        return cls

    def find(self, key: str) -> type[T] | None:
        """The class registered under ``key``, or None."""
        classes = self._classes
        if classes is None:
            classes = self._load()
        cls = classes.get(key)
        if cls is None and self._fold_case:
            cls = classes.get(key.lower())
        return cls

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def keys(self) -> list[str]:
        """Every registered key, sorted."""
        classes = self._classes
        if classes is None:
            classes = self._load()
        return sorted(classes)

    def entries(self) -> list[PluginEntry]:
        """Every registration with its origin, sorted by key."""
        if self._classes is None:
            self._load()
        entries = self._entries
        return [entries[k] for k in sorted(entries)]

    def install_hint(self, key: str) -> str | None:
        """The distribution that would provide ``key``: a known one, or a guessed name."""
        if key in self._hints:
            return self._hints[key]
        slug = key.replace("_", "-").replace(".", "-").strip("-").lower()
        if not slug or not all(c.isalnum() or c == "-" for c in slug):
            return None
        return self._install_prefix + slug

    # -- registration in code -------------------------------------------------------------

    def register(
        self, cls: type[T], *, distribution: str = RUNTIME_DISTRIBUTION, replace: bool = False
    ) -> None:
        """Register ``cls`` under its key, from code (applications, tests).

        The installed plugins load first, so a later load cannot undo this. A class of a
        built-in distribution is replaced silently, like at load; replacing any other needs
        ``replace=True``. Registering the registered class again does nothing.

        Raises:
            InvalidPluginError: ``cls`` is not a valid plugin class for this registry.
            PluginConflictError: the key is taken by another plugin and ``replace`` is False.
        """
        origin = PluginOrigin(distribution=distribution)
        key = self._validate(cls, origin)
        with self._lock:
            if self._classes is None:
                self._load()
            entry = PluginEntry(kind=self.kind, key=key, cls=cls, distribution=distribution)
            old = self._entries.get(key)
            if old is not None and not replace:
                if old.cls is cls:
                    return
                if not old.builtin or entry.builtin:
                    raise self._conflict(old, entry, hint="pass replace=True to replace it")
            self._publish({**self._entries, key: entry})

    def unregister(self, key: str) -> None:
        """Remove the registration of ``key`` (until the next ``reload_plugins()``).

        Raises:
            PluginNotFoundError: nothing is registered under ``key``.
        """
        with self._lock:
            if self._classes is None:
                self._load()
            if key not in self._entries:
                raise self._not_found(key)
            entries = dict(self._entries)
            del entries[key]
            self._publish(entries)

    @contextlib.contextmanager
    def override(self, cls: type[T], *, distribution: str = RUNTIME_DISTRIBUTION) -> Iterator[None]:
        """Register ``cls`` (replacing whatever holds its key) for the ``with`` block.

        On exit the previous registration comes back, or the key is removed if it had none.
        """
        key = self._validate(cls, PluginOrigin(distribution=distribution))
        with self._lock:
            if self._classes is None:
                self._load()
            previous = self._entries.get(key)
            self.register(cls, distribution=distribution, replace=True)
        try:
            yield
        finally:
            with self._lock:
                current = self._entries.get(key)
                if current is not None and current.cls is cls:
                    entries = dict(self._entries)
                    if previous is None:
                        del entries[key]
                    else:
                        entries[key] = previous
                    self._publish(entries)

    def reset(self) -> None:
        """Forget every class; the next lookup calls the hook again."""
        with self._lock:
            self._classes = None
            self._entries = {}

    # -- loading --------------------------------------------------------------------------

    def load(self) -> None:
        """Fill the registry now if it is not filled yet (errors surface here)."""
        if self._classes is None:
            self._load()

    def _load(self) -> dict[str, type[T]]:
        with self._lock:
            if self._classes is not None:
                return self._classes
            if self._building:
                raise PluginLoadError(
                    f"the {self.noun} registry was used by a {self.hook_name} hook; hooks must "
                    "only return classes"
                )
            self._building = True
            try:
                entries = self._build(self._collect(self.hook_name))
            finally:
                self._building = False
            return self._publish(entries)

    def _publish(self, entries: dict[str, PluginEntry]) -> dict[str, type[T]]:
        classes: dict[str, type[T]] = {k: e.cls for k, e in entries.items()}
        # Entries first: a reader that sees the new classes also sees their entries.
        self._entries = entries
        self._classes = classes
        return classes

    def _build(self, collected: list[tuple[PluginOrigin, Any]]) -> dict[str, PluginEntry]:
        table: dict[str, PluginEntry] = {}
        for origin, result in collected:
            if result is None:
                continue
            if isinstance(result, (str, bytes)) or not hasattr(result, "__iter__"):
                raise InvalidPluginError(
                    f"{self.hook_name} of {origin.describe()} returned {result!r}; "
                    "it must return a list of classes"
                )
            for cls in result:
                key = self._validate(cls, origin)
                entry = PluginEntry(
                    kind=self.kind,
                    key=key,
                    cls=cls,
                    distribution=origin.distribution,
                    version=origin.version,
                    entry_point=origin.entry_point,
                )
                old = table.get(key)
                if old is None or (old.builtin and not entry.builtin):
                    table[key] = entry
                elif old.cls is cls or (entry.builtin and not old.builtin):
                    continue
                else:
                    raise self._conflict(
                        old,
                        entry,
                        hint=f"uninstall one, or block one with {ENV_BLOCK}=<entry point>",
                    )
        return table

    def _validate(self, cls: Any, origin: PluginOrigin) -> str:
        where = f"{self.hook_name} of {origin.describe()}"
        bases = " or ".join(f"{b.__module__}.{b.__qualname__}" for b in self.bases)
        if not isinstance(cls, type):
            raise InvalidPluginError(f"{where} returned {cls!r}, which is not a class")
        name = f"{cls.__module__}.{cls.__qualname__}"
        if not issubclass(cls, self.bases):
            raise InvalidPluginError(f"{where} returned {name}, which does not subclass {bases}")
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
            raise InvalidPluginError(
                f"{where} returned {name}, which is abstract (does not implement: {missing})"
            )
        key = getattr(cls, self.key_attr, None)
        if not isinstance(key, str) or not key:
            raise InvalidPluginError(
                f"{where} returned {name} with {self.key_attr}={key!r}; a {self.noun} "
                f"class needs a non-empty string {self.key_attr!r} class attribute"
            )
        reason = self._key_check(key) if self._key_check is not None else None
        if reason is not None:
            raise InvalidPluginError(
                f"{where} returned {name} with invalid {self.key_attr}={key!r}: {reason}"
            )
        return key

    # -- messages -------------------------------------------------------------------------

    def _conflict(self, old: PluginEntry, new: PluginEntry, *, hint: str) -> PluginConflictError:
        return PluginConflictError(
            f"two plugins register the {self.noun} {old.key!r}: {old.describe()} and "
            f"{new.describe()}; {hint}"
        )

    def _not_found(self, key: str) -> PluginNotFoundError:
        installed = tuple(sorted(self._classes or ()))
        parts = [
            f"no {self.noun} {self._key_label} {key!r}",
            f"installed: {', '.join(installed) if installed else 'none'}",
        ]
        near = [k for k in installed if k.lower() == key.lower()]
        install = None
        if near:
            parts.append(f"did you mean {near[0]!r}? (names are case-sensitive)")
        else:
            install = self.install_hint(key)
            if install is not None:
                parts.append(f"pip install {install}")
        skipped = self._skipped()
        if skipped:
            listed = ", ".join(f"{s.name} ({s.reason})" for s in skipped)
            parts.append(f"entry points not loaded: {listed}")
        return PluginNotFoundError(
            "; ".join(parts), kind=self.kind, key=key, installed=installed, install=install
        )
