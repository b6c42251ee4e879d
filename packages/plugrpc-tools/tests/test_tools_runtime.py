"""The generated modules, imported and exercised: descriptors, stubs, servicer bases."""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import ModuleType

plugrpc = pytest.importorskip("plugrpc", reason="generated code imports plugrpc")


class RecordingChannel:
    """Stands in for ``plugrpc.Channel``'s four factories: returns what it was asked for."""

    def unary_unary(self, method: str, request_type: type, response_type: type) -> Any:
        return ("unary_unary", method, request_type, response_type)

    def unary_stream(self, method: str, request_type: type, response_type: type) -> Any:
        return ("unary_stream", method, request_type, response_type)

    def stream_unary(self, method: str, request_type: type, response_type: type) -> Any:
        return ("stream_unary", method, request_type, response_type)

    def stream_stream(self, method: str, request_type: type, response_type: type) -> Any:
        return ("stream_stream", method, request_type, response_type)


def _load(generated: Path, module: str) -> ModuleType:
    assert generated.is_dir()
    return importlib.import_module(module)


@pytest.fixture
def greeter(generated: Path) -> ModuleType:
    return _load(generated, "tools_it.greet.greeter_plugrpc")


@pytest.fixture
def odd(generated: Path) -> ModuleType:
    return _load(generated, "tools_it.edge.odd_names_plugrpc")


async def _requests(*items: Any) -> Any:
    for item in items:
        yield item


def test_service_descriptor(greeter: ModuleType) -> None:
    from google.protobuf import empty_pb2
    from tools_it.common import types_pb2
    from tools_it.greet import greeter_pb2

    service = greeter.GREETER_SERVICE
    assert isinstance(service, plugrpc.ServiceDescriptor)
    assert service.name == "tools_it.greet.Greeter"
    kind = plugrpc.MethodKind
    assert [(m.name, m.kind, m.request_type, m.response_type) for m in service.methods] == [
        ("SayHello", kind.UNARY_UNARY, greeter_pb2.HelloRequest, greeter_pb2.HelloReply),
        ("LotsOfReplies", kind.UNARY_STREAM, greeter_pb2.HelloRequest, greeter_pb2.HelloReply),
        ("LotsOfGreetings", kind.STREAM_UNARY, greeter_pb2.HelloRequest, greeter_pb2.HelloReply),
        ("BidiHello", kind.STREAM_STREAM, greeter_pb2.HelloRequest, greeter_pb2.HelloReply),
        ("Charge", kind.UNARY_UNARY, types_pb2.Money, empty_pb2.Empty),
        ("NextPage", kind.UNARY_UNARY, types_pb2.Page.Cursor, types_pb2.Page),
        (
            "Nested",
            kind.UNARY_UNARY,
            greeter_pb2.HelloRequest.Options,
            greeter_pb2.HelloReply.Trailer.Note,
        ),
    ]
    assert service.method_path(service.methods[0]) == "/tools_it.greet.Greeter/SayHello"


def test_service_without_methods(greeter: ModuleType) -> None:
    # GreeterService would also be GREETER_SERVICE: the second one gets an underscore.
    assert greeter.GREETER_SERVICE_.name == "tools_it.greet.GreeterService"
    assert greeter.GREETER_SERVICE_.methods == ()
    assert greeter.GreeterServiceBase.plugrpc_service is greeter.GREETER_SERVICE_
    assert vars(greeter.GreeterServiceStub(RecordingChannel())) == {}


def test_all_is_sorted_and_complete(generated: Path) -> None:
    for name in ("tools_it.greet.greeter_plugrpc", "tools_it.edge.odd_names_plugrpc"):
        module = _load(generated, name)
        assert module.__all__ == sorted(module.__all__)
        defined = {
            key
            for key, value in vars(module).items()
            if isinstance(value, plugrpc.ServiceDescriptor)
            or (isinstance(value, type) and value.__module__ == name)
        }
        assert set(module.__all__) == defined


def test_stub_binds_every_method_on_the_channel(greeter: ModuleType) -> None:
    from tools_it.greet import greeter_pb2

    stub = greeter.GreeterStub(RecordingChannel())
    request, reply = greeter_pb2.HelloRequest, greeter_pb2.HelloReply
    prefix = "/tools_it.greet.Greeter/"
    assert stub.SayHello == ("unary_unary", prefix + "SayHello", request, reply)
    assert stub.LotsOfReplies == ("unary_stream", prefix + "LotsOfReplies", request, reply)
    assert stub.LotsOfGreetings == ("stream_unary", prefix + "LotsOfGreetings", request, reply)
    assert stub.BidiHello == ("stream_stream", prefix + "BidiHello", request, reply)
    assert set(vars(stub)) == {m.name for m in greeter.GREETER_SERVICE.methods}


def test_base_is_what_the_server_expects(greeter: ModuleType) -> None:
    base = greeter.GreeterBase
    assert base.plugrpc_service is greeter.GREETER_SERVICE
    assert inspect.iscoroutinefunction(base.SayHello)
    assert inspect.isasyncgenfunction(base.LotsOfReplies)
    assert inspect.iscoroutinefunction(base.LotsOfGreetings)
    assert inspect.isasyncgenfunction(base.BidiHello)
    params = list(inspect.signature(base.LotsOfGreetings).parameters)
    assert params == ["self", "request_iterator", "context"]


async def test_base_methods_abort_unimplemented(greeter: ModuleType, servicer_context: Any) -> None:
    from tools_it.greet import greeter_pb2

    servicer = greeter.GreeterBase()
    request = greeter_pb2.HelloRequest(name="x")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("SayHello", lambda: servicer.SayHello(request, servicer_context)),
        ("LotsOfGreetings", lambda: servicer.LotsOfGreetings(_requests(request), servicer_context)),
    ]
    for name, call in calls:
        with pytest.raises(plugrpc.RpcError) as caught:
            await call()
        assert caught.value.code() is plugrpc.StatusCode.UNIMPLEMENTED
        assert caught.value.details() == f"Method {name} is not implemented"
    for name, stream in [
        ("LotsOfReplies", servicer.LotsOfReplies(request, servicer_context)),
        ("BidiHello", servicer.BidiHello(_requests(request), servicer_context)),
    ]:
        with pytest.raises(plugrpc.RpcError) as caught:
            await anext(stream)
        assert caught.value.code() is plugrpc.StatusCode.UNIMPLEMENTED
        assert servicer_context.aborted == (
            plugrpc.StatusCode.UNIMPLEMENTED,
            f"Method {name} is not implemented",
        )


async def test_overrides_are_served(greeter: ModuleType, servicer_context: Any) -> None:
    from tools_it.greet import greeter_pb2

    class Greeter(greeter.GreeterBase):  # type: ignore[misc, name-defined]
        async def SayHello(self, request: Any, context: Any) -> Any:
            return greeter_pb2.HelloReply(message=f"Hello, {request.name}")

        async def BidiHello(self, request_iterator: Any, context: Any) -> Any:
            async for request in request_iterator:
                yield greeter_pb2.HelloReply(message=request.name.upper())

    servicer = Greeter()
    reply = await servicer.SayHello(greeter_pb2.HelloRequest(name="you"), servicer_context)
    assert reply.message == "Hello, you"
    names = _requests(greeter_pb2.HelloRequest(name="a"), greeter_pb2.HelloRequest(name="b"))
    assert [r.message async for r in servicer.BidiHello(names, servicer_context)] == ["A", "B"]


def test_odd_method_names_get_python_names(odd: ModuleType) -> None:
    stub = odd.OddStub(RecordingChannel())
    path = "/tools_it.edge.Odd/"
    expected = {
        "class__": "class",  # "class_" is another method's name
        "class_": "class_",
        "None_": "None",
        "plugrpc_": "plugrpc",  # would shadow the plugrpc module in the class body
        "plugrpc_service_": "plugrpc_service",
        "rpc__init__": "__init__",
        "rpc__private": "__private",
        "_single": "_single",
        "OddBase": "OddBase",  # another module name, but not one the class body uses
    }
    for py_name, wire_name in expected.items():
        assert getattr(stub, py_name)[1] == path + wire_name
        assert inspect.iscoroutinefunction(getattr(odd.OddBase, py_name)) or (
            inspect.isasyncgenfunction(getattr(odd.OddBase, py_name))
        )
    # Names Python cannot spell are still reachable on the stub under the .proto name.
    assert getattr(stub, "class") is stub.class__
    assert getattr(stub, "None") is stub.None_
    assert getattr(stub, "__private") is stub.rpc__private
    assert [m.name for m in odd.ODD_SERVICE.methods] == list(expected.values())


async def test_servicer_is_found_under_the_proto_name(
    odd: ModuleType, servicer_context: Any
) -> None:
    """The server looks handlers up by .proto name; overriding the Python name is enough."""
    from tools_it.edge import odd_names_pb2

    class Odd(odd.OddBase):  # type: ignore[misc, name-defined]
        async def class__(self, request: Any, context: Any) -> Any:
            return odd_names_pb2.Ping(text="class:" + request.text)

        async def None_(self, request: Any, context: Any) -> Any:
            yield odd_names_pb2.Ping(text="none")

        async def plugrpc_(self, request_iterator: Any, context: Any) -> Any:
            return odd_names_pb2.Ping(text=",".join([r.text async for r in request_iterator]))

    servicer = Odd()
    ping = odd_names_pb2.Ping(text="x")
    handler = getattr(servicer, "class")
    assert (await handler(ping, servicer_context)).text == "class:x"
    assert [p.text async for p in getattr(servicer, "None")(ping, servicer_context)] == ["none"]
    pings = _requests(odd_names_pb2.Ping(text="a"), odd_names_pb2.Ping(text="b"))
    assert (await getattr(servicer, "plugrpc")(pings, servicer_context)).text == "a,b"
    # Unoverridden, the forwarded name still aborts UNIMPLEMENTED under its .proto name.
    with pytest.raises(plugrpc.RpcError) as caught:
        await getattr(servicer, "__private")(pings, servicer_context).__anext__()
    assert caught.value.details() == "Method __private is not implemented"
    # A dunder cannot be forwarded without breaking the class.
    assert odd.OddBase.__init__ is object.__init__
    assert odd.OddBase.plugrpc_service is odd.ODD_SERVICE


def test_colliding_constants_stay_distinct(odd: ModuleType) -> None:
    assert odd.ODD_THING_SERVICE.name == "tools_it.edge.OddThing"
    assert odd.ODD_THING_SERVICE_.name == "tools_it.edge.ODDThing"


def test_keyword_package_path_and_message_names(generated: Path) -> None:
    module = _load(generated, "tools_it.class.kwdir_plugrpc")
    pb2 = importlib.import_module("tools_it.class.kwdir_pb2")
    echo, odd_method = module.KEYWORDS_SERVICE.methods
    assert echo.request_type is pb2.Plain
    assert odd_method.request_type is getattr(pb2, "def")
    assert odd_method.response_type is getattr(pb2.Holder, "__Hidden")
    stub = module.KeywordsStub(RecordingChannel())
    assert stub.Odd == (
        "unary_unary",
        "/tools_it.kw.Keywords/Odd",
        getattr(pb2, "def"),
        getattr(pb2.Holder, "__Hidden"),
    )


def test_editions_nopkg_and_dotted_dirs(generated: Path) -> None:
    editions = _load(generated, "tools_it.ed.editions_plugrpc")
    assert editions.EDITIONS_SERVICE.name == "tools_it.ed.Editions"
    edition2024 = _load(generated, "tools_it.ed.edition2024_plugrpc")
    [call] = edition2024.EDITIONS2024_SERVICE.methods
    assert call.request_type is editions.EDITIONS_SERVICE.methods[0].request_type
    assert call.kind is plugrpc.MethodKind.UNARY_STREAM
    bare = _load(generated, "nopkg_plugrpc")
    assert bare.BARE_SERVICE.name == "Bare"
    assert bare.BareStub(RecordingChannel()).Go[1] == "/Bare/Go"
    dotted = _load(generated, "tools_it.dotted.dir.dotted_plugrpc")
    assert dotted.DOTTED_SERVICE.methods[0].response_type.DESCRIPTOR.full_name == (
        "tools_it.common.Money"
    )


def test_docstrings_reach_python(greeter: ModuleType) -> None:
    assert greeter.GreeterStub.__doc__.startswith("Client for tools_it.greet.Greeter.\n")
    assert 'a """ triple quote, a \\ backslash and ünïcödé.' in greeter.GreeterBase.__doc__
    assert greeter.GreeterBase.SayHello.__doc__ == "Says hello once."
