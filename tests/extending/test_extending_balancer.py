"""A third-party balancer plugin, installed for real and used by name (docs/extending-balancers.md).

The example distribution in ``test_extending_balancer_dist/`` (pyproject.toml and
``src/acme_balancer_random``) is laid out in a temporary site directory the way an installer
lays out a pure-Python wheel: the package, and a ``*.dist-info`` whose ``entry_points.txt`` is
written from the pyproject's ``[project.entry-points.plugrpc]`` table. With that directory on
``sys.path`` (or ``PYTHONPATH`` for a subprocess), ``importlib.metadata`` finds the entry point
exactly as it finds an installed one; nothing is registered in code. A service config then
selects the policy by its name, ``acme_random``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import echo_pb2
import echo_plugrpc
import plugrpc
import pytest
from plugrpc_core import Address, ConnectivityState, PickQueue, Resolver, ResolverState
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf
from plugrpc_core.plugins import balancers, reload_plugins, resolvers

DIST = Path(__file__).resolve().parent / "test_extending_balancer_dist"
PROJECT = tomllib.loads((DIST / "pyproject.toml").read_text())["project"]
MODULE = "acme_balancer_random"
POLICY = "acme_random"
ENTRY_POINT = "acme-random"


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
    lines = [
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
        for group, eps in PROJECT["entry-points"].items()
    ]
    (info / "entry_points.txt").write_text("\n".join(lines))
    (info / "INSTALLER").write_text("plugrpc-tests\n")
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files) + f"{info.name}/RECORD,,\n")
    return info


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """The example installed and its entry point loaded; everything undone afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    install(site)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(site))
        allowed = os.environ.get("PLUGRPC_PLUGINS")
        if allowed:  # an allowlist in the environment must let the example in
            mp.setenv("PLUGRPC_PLUGINS", f"{allowed},{ENTRY_POINT}")
        importlib.invalidate_caches()
        reload_plugins()
        try:
            yield site
        finally:
            for name in [m for m in sys.modules if m == MODULE or m.startswith(MODULE + ".")]:
                del sys.modules[name]
    importlib.invalidate_caches()
    reload_plugins()


class ListResolver(Resolver):
    """Resolves ``plugrpc-ext-lb:///<name>`` to the addresses the test stored under name."""

    scheme = "plugrpc-ext-lb"
    addresses: ClassVar[dict[str, tuple[Address, ...]]] = {}

    def start(self) -> None:
        self.listener.update_state(
            ResolverState(addresses=ListResolver.addresses[self.target.endpoint])
        )

    def close(self) -> None:
        pass


class Backend(echo_plugrpc.EchoBase):
    def __init__(self, name: str) -> None:
        self.name = name

    async def Unary(self, request: Any, context: plugrpc.ServicerContext) -> Any:
        return echo_pb2.EchoResponse(message=self.name)


def test_the_entry_point_registers_the_policy(installed: Path) -> None:
    cls = balancers.get(POLICY)
    assert cls.__module__ == f"{MODULE}._policy"
    (entry,) = [e for e in balancers.entries() if e.key == POLICY]
    assert entry.distribution == PROJECT["name"]
    assert entry.version == PROJECT["version"]
    assert entry.entry_point == ENTRY_POINT
    assert not entry.builtin


async def test_a_service_config_selects_the_policy_by_name(installed: Path) -> None:
    servers = [plugrpc.Server([Backend(f"b{n}")]) for n in range(3)]
    ports = [await server.start("127.0.0.1:0") for server in servers]
    ListResolver.addresses["three"] = tuple(Address(host="127.0.0.1", port=p) for p in ports)
    config = {"loadBalancingConfig": [{"not_installed_policy": {}}, {POLICY: {"seed": 7}}]}
    try:
        with resolvers.override(ListResolver):
            channel = plugrpc.Channel("plugrpc-ext-lb:///three", default_service_config=config)
            async with channel:
                stub = echo_plugrpc.EchoStub(channel)
                counts: Counter[str] = Counter()
                for _ in range(300):
                    reply = await stub.Unary(echo_pb2.EchoRequest(), wait_for_ready=True, timeout=5)
                    counts[reply.message] += 1
    finally:
        await asyncio.gather(*(server.stop(None) for server in servers))
    assert set(counts) == {"b0", "b1", "b2"}
    assert all(n >= 50 for n in counts.values()), counts  # uniform: 100 expected each


def test_the_policy_validates_its_config_when_the_channel_is_built(installed: Path) -> None:
    config = {"loadBalancingConfig": [{POLICY: {"seed": "seven"}}]}
    with pytest.raises(ValueError, match=r"loadBalancingConfig\[0\]\.acme_random.*seed"):
        plugrpc.Channel("127.0.0.1:1", default_service_config=config)


def test_without_the_plugin_the_name_is_unknown() -> None:
    config = {"loadBalancingConfig": [{POLICY: {}}]}
    with pytest.raises(ValueError, match="no installed policy among 'acme_random'"):
        plugrpc.Channel("127.0.0.1:1", default_service_config=config)


def test_the_policy_unit_tests_with_the_fake_helper(installed: Path) -> None:
    """How docs/extending-balancers.md tests a policy: no sockets, no event loop."""
    cls = balancers.get(POLICY)
    helper = FakeHelper()
    policy = cls(helper, child_policy=SimpleLeaf)  # type: ignore[call-arg]
    addresses = tuple(Address(host="10.0.0.1", port=p) for p in (1, 2, 3))
    policy.update_state(ResolverState(addresses=addresses), cls.parse_config({"seed": 1}))
    assert helper.state is ConnectivityState.CONNECTING
    assert isinstance(helper.pick(), PickQueue)
    for subchannel in helper.subchannels:
        subchannel.ready()
    picked = Counter(helper.picked().address.port for _ in range(3000))
    assert set(picked) == {1, 2, 3}
    assert all(900 <= n <= 1100 for n in picked.values()), picked
    policy.close()
    assert helper.live() == []


def test_python_m_plugrpc_plugins_lists_it(installed: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(installed), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    if env.get("PLUGRPC_PLUGINS"):
        env["PLUGRPC_PLUGINS"] += f",{ENTRY_POINT}"
    table = subprocess.run(
        [sys.executable, "-m", "plugrpc", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (line,) = [row for row in table.splitlines() if f" {POLICY} " in row]
    assert line.split()[:5] == [
        "balancer",
        POLICY,
        PROJECT["name"],
        PROJECT["version"],
        f"{MODULE}._policy:RandomPolicy",
    ]
