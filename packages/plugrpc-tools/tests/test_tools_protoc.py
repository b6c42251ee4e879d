"""protoc-gen-plugrpc run by a real protoc: where modules go, errors, the command line."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def test_modules_sit_beside_the_pb2_modules(generated: Path) -> None:
    plugrpc_modules = sorted(
        path.relative_to(generated).as_posix() for path in generated.rglob("*_plugrpc.py")
    )
    assert plugrpc_modules == [
        "nopkg_plugrpc.py",
        "tools_it/class/kwdir_plugrpc.py",
        "tools_it/dotted/dir/dotted_plugrpc.py",
        "tools_it/ed/edition2024_plugrpc.py",
        "tools_it/ed/editions_plugrpc.py",
        "tools_it/edge/odd_names_plugrpc.py",
        "tools_it/greet/greeter_plugrpc.py",
    ]
    for module in plugrpc_modules:
        assert (generated / module.replace("_plugrpc.py", "_pb2.py")).is_file()
    # types.proto has no service: no module.
    assert not (generated / "tools_it/common/types_plugrpc.py").exists()


def test_protoc_reports_generator_errors(
    protoc: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    result = protoc(
        f"--plugrpc_out={tmp_path}", "--plugrpc_opt=nonsense", "tools_it/greet/greeter.proto"
    )
    assert result.returncode != 0
    assert "protoc-gen-plugrpc takes no options, got 'nonsense'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_run_by_hand_prints_usage() -> None:
    command = [sys.executable, "-m", "plugrpc_tools", "--help"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "protoc plugin" in result.stderr
    version = subprocess.run(
        [sys.executable, "-m", "plugrpc_tools", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert version.returncode == 0
    assert version.stdout.startswith("protoc-gen-plugrpc ")


def test_console_script_is_declared() -> None:
    [script] = [
        ep
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "protoc-gen-plugrpc"
    ]
    assert script.value == "plugrpc_tools._plugin:main"
