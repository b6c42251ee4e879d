"""Generated modules pass ``mypy --strict`` with protoc's ``_pb2.pyi``, and type real use.

One mypy run (it is the slow part): every generated module, plus a user module that
subclasses a base and calls a stub. ``assert_type`` pins the types, and ``type: ignore``
comments on wrong calls pin that they are errors: with ``--strict`` an ignore that is not
needed is itself an error, so a stub that degraded to ``Any`` fails this test.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("mypy", reason="mypy is not installed")
pytest.importorskip("plugrpc", reason="generated code imports plugrpc")

USAGE = """\
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import assert_type

import plugrpc
from google.protobuf import empty_pb2
from tools_it.common import types_pb2
from tools_it.greet import greeter_pb2 as pb
from tools_it.greet import greeter_plugrpc as rpc
from tools_it.edge import odd_names_pb2
from tools_it.edge import odd_names_plugrpc as odd


class Greeter(rpc.GreeterBase):
    async def SayHello(
        self, request: pb.HelloRequest, context: plugrpc.ServicerContext
    ) -> pb.HelloReply:
        return pb.HelloReply(message=f"Hello, {request.name}")

    async def LotsOfReplies(
        self, request: pb.HelloRequest, context: plugrpc.ServicerContext
    ) -> AsyncIterator[pb.HelloReply]:
        for _ in range(request.count):
            yield pb.HelloReply(message=request.name)

    async def LotsOfGreetings(
        self, request_iterator: AsyncIterator[pb.HelloRequest], context: plugrpc.ServicerContext
    ) -> pb.HelloReply:
        names = [request.name async for request in request_iterator]
        return pb.HelloReply(message=", ".join(names))

    async def BidiHello(
        self, request_iterator: AsyncIterator[pb.HelloRequest], context: plugrpc.ServicerContext
    ) -> AsyncIterator[pb.HelloReply]:
        async for request in request_iterator:
            yield pb.HelloReply(message=request.name)

    async def Charge(  # type: ignore[override]
        self, request: pb.HelloRequest, context: plugrpc.ServicerContext
    ) -> empty_pb2.Empty:
        return empty_pb2.Empty()


async def client(channel: plugrpc.Channel) -> None:
    stub = rpc.GreeterStub(channel)
    reply = await stub.SayHello(pb.HelloRequest(name="you"), timeout=1.0, metadata=[("k", "v")])
    assert_type(reply, pb.HelloReply)
    async for item in stub.LotsOfReplies(pb.HelloRequest(name="you", count=2)):
        assert_type(item, pb.HelloReply)
    collected = await stub.LotsOfGreetings([pb.HelloRequest(name="a")])
    assert_type(collected, pb.HelloReply)
    call = stub.BidiHello()
    await call.write(pb.HelloRequest(name="b"))
    await call.done_writing()
    assert_type(await call.read(), pb.HelloReply | None)
    assert_type(await stub.Charge(types_pb2.Money(units=1)), empty_pb2.Empty)
    assert_type(await stub.NextPage(types_pb2.Page.Cursor()), types_pb2.Page)
    assert_type(
        await stub.Nested(pb.HelloRequest.Options(shout=True)), pb.HelloReply.Trailer.Note
    )
    assert_type(rpc.GREETER_SERVICE, plugrpc.ServiceDescriptor)
    assert_type(rpc.GreeterBase.plugrpc_service, plugrpc.ServiceDescriptor)
    await stub.SayHello(types_pb2.Money())  # type: ignore[arg-type]
    await stub.Charge(pb.HelloRequest())  # type: ignore[arg-type]
    odd_stub = odd.OddStub(channel)
    assert_type(await odd_stub.class__(odd_names_pb2.Ping()), odd_names_pb2.Ping)
"""

#: Generated modules checked; the .pyi of protoc cannot spell a message named with a
#: keyword, but kwdir only reaches such messages through importlib, so it is checked too.
MODULES = [
    "nopkg_plugrpc.py",
    "tools_it/class/kwdir_plugrpc.py",
    "tools_it/dotted/dir/dotted_plugrpc.py",
    "tools_it/ed/edition2024_plugrpc.py",
    "tools_it/ed/editions_plugrpc.py",
    "tools_it/edge/odd_names_plugrpc.py",
    "tools_it/greet/greeter_plugrpc.py",
]


def test_generated_code_passes_mypy_strict(generated: Path, tmp_path: Path) -> None:
    usage = generated / "usage_check.py"
    usage.write_text(USAGE)
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--warn-unreachable",
        "--explicit-package-bases",
        "--no-error-summary",
        "--cache-dir",
        str(tmp_path / "mypy-cache"),
        "usage_check.py",
        *MODULES,
    ]
    result = subprocess.run(
        command, cwd=generated, capture_output=True, text=True, timeout=110, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
