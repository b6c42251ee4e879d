"""Guards for the monorepo's shape: envs per distribution, licences, public names."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def _project(name: str) -> dict:
    return tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())["project"]


def _workspace_deps(name: str) -> set[str]:
    deps = set()
    for requirement in _project(name).get("dependencies", []):
        dist = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]
        if dist in PACKAGES:
            deps.add(dist)
            deps |= _workspace_deps(dist)
    return deps


def test_every_distribution_has_an_isolated_env_with_exactly_its_dependencies() -> None:
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text())
    envs = {
        name: env
        for name, env in hatch["envs"].items()
        if name.startswith("pkg-") and "workspace" in env
    }
    seen = {}
    for env_name, env in envs.items():
        members = {m.removeprefix("packages/") for m in env["workspace"]["members"]}
        tested = env["scripts"]["test"].split()[1].removeprefix("packages/")
        seen[tested] = members
    assert sorted(seen) == PACKAGES
    for name, members in seen.items():
        assert members == {name} | _workspace_deps(name), name


@pytest.mark.parametrize("name", PACKAGES)
def test_every_distribution_ships_license_readme_and_typing(name: str) -> None:
    pkg = ROOT / "packages" / name
    assert (pkg / "LICENSE").is_file() and not (pkg / "LICENSE").is_symlink()
    assert (pkg / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    meta = _project(name)
    readme = pkg / meta["readme"]
    assert readme.is_file() and len(readme.read_text().splitlines()) > 3, "README too thin"
    assert meta["license"] == "Apache-2.0"
    import_name = name.replace("-", "_")
    assert (pkg / "src" / import_name / "py.typed").is_file()


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_curated(name: str) -> None:
    module = importlib.import_module(name.replace("-", "_"))
    public = getattr(module, "__all__", None)
    assert public is not None, f"{name} has no __all__"
    assert list(public) == sorted(public), f"{name}.__all__ is not sorted"
    for attr in public:
        assert hasattr(module, attr), f"{name}.__all__ lists missing {attr}"
    exported = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", "").startswith(module.__name__ + "._")
    }
    assert exported <= set(public), f"{name} exports names missing from __all__"
