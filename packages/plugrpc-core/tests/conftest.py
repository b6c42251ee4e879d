"""Fixtures for plugrpc-core tests: real, installed-looking plugin distributions on sys.path."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from plugrpc_core.plugins import reload_plugins

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_SWITCHES = ("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", "PLUGRPC_PLUGINS", "PLUGRPC_BLOCK_PLUGINS")
_counter = itertools.count()


class PluginSite:
    """A directory on sys.path holding modules and ``*.dist-info`` directories.

    ``importlib.metadata`` finds the distributions there exactly as it finds installed
    ones, so entry-point discovery runs for real. Module names carry ``prefix`` so that no
    two tests share a ``sys.modules`` entry.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.prefix = f"plugrpc_site{os.getpid()}_{next(_counter)}_"

    def module(self, name: str, source: str) -> str:
        """Write ``<prefix><name>.py`` and return its importable name."""
        full = self.prefix + name
        (self.root / f"{full}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return full

    def distribution(
        self, name: str, entry_points: Mapping[str, str], *, version: str = "0.1"
    ) -> None:
        """Write ``<name>-<version>.dist-info`` declaring ``entry_points`` in group plugrpc."""
        stem = name.replace("-", "_")
        info = self.root / f"{stem}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[plugrpc]"] + [f"{ep} = {target}" for ep, target in entry_points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        importlib.invalidate_caches()

    def plugin(
        self,
        dist: str,
        ep_name: str,
        hooks_source: str,
        *,
        version: str = "0.1",
    ) -> str:
        """A distribution with one entry point whose hooks module is ``hooks_source``."""
        module = self.module(ep_name.replace("-", "_") + "_hooks", hooks_source)
        self.distribution(dist, {ep_name: module}, version=version)
        return module

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable until the test ends."""
        self.monkeypatch.setenv(name, value)


@pytest.fixture
def plugin_site(tmp_path: Path) -> Iterator[PluginSite]:
    """A fresh plugin site; the global registries are reloaded from the real ones after."""
    root = tmp_path / "site"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for name in _SWITCHES:
            mp.delenv(name, raising=False)
        mp.syspath_prepend(str(root))
        site = PluginSite(root, mp)
        try:
            yield site
        finally:
            for name in [m for m in sys.modules if m.startswith(site.prefix)]:
                del sys.modules[name]
    # The environment and sys.path are restored by now: load what is really installed.
    importlib.invalidate_caches()
    reload_plugins()


@pytest.fixture
def clean_registries() -> Iterator[None]:
    """Restore the global registries (drop classes registered in code) after the test."""
    with pytest.MonkeyPatch.context() as mp:
        for name in _SWITCHES:
            mp.delenv(name, raising=False)
        yield
    reload_plugins()
