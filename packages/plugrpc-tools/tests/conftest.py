"""Fixtures for the protoc-gen-plugrpc tests: a real protoc, real .proto files.

protoc comes from grpcio-tools (``python -m grpc_tools.protoc``); the plugin runs through a
small launcher script, as protoc runs any plugin. The test protos live in ``protos/`` under
the ``tools_it`` directory, names no other test module imports, because generated modules
are imported into this process and protobuf's descriptor pool is process-wide.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PROTOS = Path(__file__).parent / "protos"
PLUGRPC_TOOLS_SRC = Path(__file__).resolve().parents[1] / "src"

#: Every test proto, as protoc names it (relative to PROTOS).
ALL_PROTOS = sorted(path.relative_to(PROTOS).as_posix() for path in PROTOS.rglob("*.proto"))

#: Top-level module names the generated code lives under (dropped from sys.modules after).
_GENERATED_ROOTS = ("tools_it", "nopkg_pb2", "nopkg_plugrpc")


def run_protoc(launcher: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run grpcio-tools' protoc with ``protoc-gen-plugrpc`` available as ``--plugrpc_out``."""
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"--plugin=protoc-gen-plugrpc={launcher}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="session")
def plugin_launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An executable that runs this checkout's protoc-gen-plugrpc with this interpreter."""
    launcher = tmp_path_factory.mktemp("plugin") / "protoc-gen-plugrpc"
    launcher.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(PLUGRPC_TOOLS_SRC))}${{PYTHONPATH:+:$PYTHONPATH}} exec "
        f'{shlex.quote(sys.executable)} -m plugrpc_tools "$@"\n'
    )
    launcher.chmod(0o755)
    return launcher


@pytest.fixture(scope="session")
def protoc(plugin_launcher: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``protoc(*args)``: run protoc on the test protos with the plugin available."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_protoc(plugin_launcher, *args)

    return run


@pytest.fixture(scope="session")
def generated(
    protoc: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """A directory with the _pb2.py, _pb2.pyi and _plugrpc.py modules of every test proto.

    The directory is on sys.path for the session, so tests import the generated modules.
    """
    out = tmp_path_factory.mktemp("generated")
    result = protoc(f"--python_out={out}", f"--pyi_out={out}", f"--plugrpc_out={out}", *ALL_PROTOS)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    try:
        yield out
    finally:
        sys.path.remove(str(out))
        for name in list(sys.modules):
            if name.split(".")[0] in _GENERATED_ROOTS:
                del sys.modules[name]


@pytest.fixture(scope="session")
def descriptor_set(
    protoc: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> descriptor_pb2.FileDescriptorSet:
    """Every test proto and its imports, with comments, as protoc parsed them."""
    path = tmp_path_factory.mktemp("descriptors") / "all.binpb"
    result = protoc(
        f"--descriptor_set_out={path}", "--include_imports", "--include_source_info", *ALL_PROTOS
    )
    assert result.returncode == 0, result.stderr
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


@pytest.fixture
def make_request(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> Callable[..., plugin_pb2.CodeGeneratorRequest]:
    """``make_request(*files, parameter="")``: the request protoc would send for ``files``."""

    def make(*files: str, parameter: str = "") -> plugin_pb2.CodeGeneratorRequest:
        request = plugin_pb2.CodeGeneratorRequest(file_to_generate=files, parameter=parameter)
        request.proto_file.extend(descriptor_set.file)
        return request

    return make


@pytest.fixture
def servicer_context() -> Any:
    """A ``plugrpc.ServicerContext`` whose ``abort`` raises ``RpcError``, as the server's does.

    The class is built here, not at import, because a tools-only environment has no plugrpc.
    """
    plugrpc = pytest.importorskip("plugrpc")

    class Context(plugrpc.ServicerContext):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.aborted: tuple[Any, str] | None = None

        def method(self) -> str:
            return "/test/Method"

        def peer(self) -> str:
            return "ipv4:127.0.0.1:1"

        def invocation_metadata(self) -> Any:
            return plugrpc.Metadata()

        async def send_initial_metadata(self, metadata: Any) -> None:
            return None

        def set_trailing_metadata(self, metadata: Any) -> None:
            return None

        def set_code(self, code: Any) -> None:
            return None

        def set_details(self, details: str) -> None:
            return None

        async def abort(
            self,
            code: Any,
            details: str = "",
            *,
            trailing_metadata: Any = None,
            status_details_bin: bytes | None = None,
        ) -> NoReturn:
            self.aborted = (code, details)
            raise plugrpc.RpcError(code, details)

        def set_compression(self, name: str | None) -> None:
            return None

        def set_message_compression(self, enabled: bool) -> None:
            return None

        def request_compressed(self) -> bool | None:
            return None

        def auth_context(self) -> dict[str, Any]:
            return {"transport_security_type": "insecure"}

        def time_remaining(self) -> float | None:
            return None

        def cancelled(self) -> bool:
            return False

        def done(self) -> bool:
            return False

    return Context()
