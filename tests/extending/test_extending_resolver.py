"""A third-party resolver plugin, installed for real and used by name (docs/extending-resolvers.md).

The example distribution in ``test_extending_resolver_dist/`` (pyproject.toml and
``src/acme_resolver_file``) is installed into a temporary site directory the way an installer
lays out a pure-Python wheel: the package, and a ``*.dist-info`` whose ``entry_points.txt`` is
written from the pyproject's ``[project.entry-points.plugrpc]`` table. With that directory on
``sys.path`` (or ``PYTHONPATH`` for a subprocess), ``importlib.metadata`` finds the entry point
exactly as it finds an installed one; nothing is registered in code.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import echo_pb2
import echo_plugrpc
import plugrpc
import pytest
from plugrpc_core.plugins import reload_plugins, resolvers

DIST = Path(__file__).resolve().parent / "test_extending_resolver_dist"
PROJECT = tomllib.loads((DIST / "pyproject.toml").read_text())["project"]
MODULE = "acme_resolver_file"


def install(site: Path) -> Path:
    """Lay the example distribution out in ``site`` as an installer would; return dist-info."""
    shutil.copytree(DIST / "src" / MODULE, site / MODULE)
    name, version = PROJECT["name"], PROJECT["version"]
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    requires = "".join(f"Requires-Dist: {dep}\n" for dep in PROJECT["dependencies"])
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"
        f"Summary: {PROJECT['description']}\n{requires}"
    )
    groups = PROJECT["entry-points"]
    lines = [
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
        for group, eps in groups.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(lines))
    (info / "INSTALLER").write_text("plugrpc-tests\n")
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files) + f"{info.name}/RECORD,,\n")
    return info


@pytest.fixture
def installed(tmp_path: Path) -> Any:
    """The example installed and its entry point loaded; everything undone afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    install(site)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(site))
        allowed = os.environ.get("PLUGRPC_PLUGINS")
        if allowed:  # an allowlist in the environment must let the example in
            mp.setenv("PLUGRPC_PLUGINS", f"{allowed},acme-file")
        importlib.invalidate_caches()
        reload_plugins()
        try:
            yield site
        finally:
            for name in [m for m in sys.modules if m == MODULE or m.startswith(MODULE + ".")]:
                del sys.modules[name]
    importlib.invalidate_caches()
    reload_plugins()


class Backend(echo_plugrpc.EchoBase):
    def __init__(self, name: str) -> None:
        self.name = name

    async def Unary(self, request: Any, context: plugrpc.ServicerContext) -> Any:
        return echo_pb2.EchoResponse(message=self.name)


async def serve(name: str) -> tuple[plugrpc.Server, int]:
    server = plugrpc.Server([Backend(name)])
    return server, await server.start("127.0.0.1:0")


def test_the_entry_point_registers_the_scheme(installed: Path) -> None:
    cls = resolvers.get("acme-file")
    assert cls.__module__ == f"{MODULE}._resolver"
    (entry,) = [e for e in resolvers.entries() if e.key == "acme-file"]
    assert entry.distribution == "acme-grpc-resolver-file"
    assert entry.version == "1.2.0"
    assert entry.entry_point == "acme-file"
    assert not entry.builtin


async def test_a_channel_uses_the_plugin_by_its_scheme(installed: Path, tmp_path: Path) -> None:
    first, first_port = await serve("first")
    second, second_port = await serve("second")
    backends = tmp_path / "backends.json"
    backends.write_text(json.dumps({"addresses": [f"127.0.0.1:{first_port}"]}))
    cls = resolvers.get("acme-file")
    cls.poll_interval = 0.05
    try:
        async with plugrpc.Channel(f"acme-file://{backends}") as channel:
            stub = echo_plugrpc.EchoStub(channel)
            reply = await stub.Unary(echo_pb2.EchoRequest(), timeout=5)
            assert reply.message == "first"
            # The plugin watches its file: new contents move the calls.
            backends.write_text(
                json.dumps(
                    {
                        "addresses": [f"127.0.0.1:{second_port}"],
                        "serviceConfig": {"methodConfig": [{"name": [{}], "waitForReady": True}]},
                    }
                )
            )
            await first.stop(grace=0)
            for _ in range(100):
                reply = await stub.Unary(echo_pb2.EchoRequest(), timeout=5, wait_for_ready=True)
                if reply.message == "second":
                    break
                await asyncio.sleep(0.05)
            assert reply.message == "second"
    finally:
        await first.stop(grace=0)
        await second.stop(grace=0)


@pytest.mark.parametrize(
    ("target", "message"),
    [("acme-file:relative.json", "absolute"), ("acme-file://host/x.json", "no authority")],
)
def test_the_plugin_validates_targets_when_the_channel_is_built(
    installed: Path, target: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plugrpc.Channel(target)


def test_without_the_plugin_the_scheme_is_unknown() -> None:
    with pytest.raises(LookupError, match="no resolver for scheme 'acme-file'"):
        plugrpc.Channel("acme-file:///etc/backends.json")


def test_python_m_plugrpc_plugins_lists_it(installed: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(installed), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    if env.get("PLUGRPC_PLUGINS"):
        env["PLUGRPC_PLUGINS"] += ",acme-file"
    table = subprocess.run(
        [sys.executable, "-m", "plugrpc", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (line,) = [row for row in table.splitlines() if " acme-file " in row]
    assert line.split()[:4] == ["resolver", "acme-file", "acme-grpc-resolver-file", "1.2.0"]
    assert line.split()[4] == f"{MODULE}._resolver:FileResolver"

    rows = json.loads(
        subprocess.run(
            [sys.executable, "-m", "plugrpc", "plugins", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    (row,) = [r for r in rows if r["key"] == "acme-file"]
    assert row == {
        "kind": "resolver",
        "key": "acme-file",
        "distribution": "acme-grpc-resolver-file",
        "version": "1.2.0",
        "class": f"{MODULE}._resolver:FileResolver",
        "entry_point": "acme-file",
    }
