"""``generate()`` on the requests protoc builds: outputs, errors, comments, determinism."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import plugrpc_tools
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from plugrpc_tools import generate

if TYPE_CHECKING:
    from collections.abc import Callable

    MakeRequest = Callable[..., plugin_pb2.CodeGeneratorRequest]

Response = plugin_pb2.CodeGeneratorResponse
GREETER = "tools_it/greet/greeter.proto"


def _only_file(response: plugin_pb2.CodeGeneratorResponse) -> plugin_pb2.CodeGeneratorResponse.File:
    assert not response.error
    [file] = response.file
    return file


def test_declares_proto3_optional_and_editions(make_request: MakeRequest) -> None:
    response = generate(make_request(GREETER))
    assert response.supported_features & Response.FEATURE_PROTO3_OPTIONAL
    assert response.supported_features & Response.FEATURE_SUPPORTS_EDITIONS
    assert response.minimum_edition == descriptor_pb2.EDITION_2023
    assert response.maximum_edition == descriptor_pb2.EDITION_2024


def test_output_goes_where_python_out_puts_the_pb2_module(make_request: MakeRequest) -> None:
    response = generate(
        make_request(
            GREETER,
            "tools_it/edge/odd-names.proto",
            "tools_it/dotted.dir/dotted.proto",
            "nopkg.proto",
        )
    )
    assert not response.error
    assert [file.name for file in response.file] == [
        "tools_it/greet/greeter_plugrpc.py",
        "tools_it/edge/odd_names_plugrpc.py",
        "tools_it/dotted/dir/dotted_plugrpc.py",
        "nopkg_plugrpc.py",
    ]


def test_file_without_services_gets_no_module(make_request: MakeRequest) -> None:
    response = generate(make_request("tools_it/common/types.proto"))
    assert not response.error
    assert len(response.file) == 0


def test_options_are_rejected(make_request: MakeRequest) -> None:
    response = generate(make_request(GREETER, parameter="grpc_compat"))
    assert "takes no options" in response.error
    assert "grpc_compat" in response.error
    assert len(response.file) == 0


def test_undefined_message_type_is_an_error() -> None:
    file = descriptor_pb2.FileDescriptorProto(name="broken.proto", package="broken")
    service = file.service.add(name="S")
    service.method.add(name="M", input_type=".nowhere.Missing", output_type=".nowhere.Missing")
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=["broken.proto"])
    request.proto_file.append(file)
    response = generate(request)
    assert response.error == "message type .nowhere.Missing is not defined in any file"
    assert len(response.file) == 0


def test_file_to_generate_without_descriptor_is_an_error() -> None:
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=["ghost.proto"])
    assert "ghost.proto" in generate(request).error


def test_output_is_deterministic(make_request: MakeRequest) -> None:
    request = make_request(GREETER, "tools_it/edge/odd-names.proto")
    first = generate(request).SerializeToString(deterministic=True)
    assert generate(request).SerializeToString(deterministic=True) == first
    # The order protoc lists the imported files in does not matter either.
    reordered = plugin_pb2.CodeGeneratorRequest(file_to_generate=request.file_to_generate)
    reordered.proto_file.extend(reversed(request.proto_file))
    assert generate(reordered).SerializeToString(deterministic=True) == first


def test_every_module_is_valid_python(
    make_request: MakeRequest, descriptor_set: descriptor_pb2.FileDescriptorSet
) -> None:
    names = [
        file.name for file in descriptor_set.file if file.name.startswith(("tools_it", "nopkg"))
    ]
    response = generate(make_request(*names))
    assert not response.error
    assert len(response.file) == 7
    for file in response.file:
        compile(file.content, file.name, "exec", dont_inherit=True)


def _tree(make_request: MakeRequest, name: str) -> ast.Module:
    return ast.parse(_only_file(generate(make_request(name))).content)


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    [node] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    return node


def test_comments_become_docstrings_exactly(make_request: MakeRequest) -> None:
    tree = _tree(make_request, GREETER)
    comment = (
        "The greeting service: one method of each kind.\n\n"
        'Its comment has "quotes", a """ triple quote, a \\ backslash and ünïcödé.'
    )
    assert ast.get_docstring(_class(tree, "GreeterStub")) == (
        f"Client for tools_it.greet.Greeter.\n\n{comment}"
    )
    assert ast.get_docstring(_class(tree, "GreeterBase")) == (
        "Servicer base for tools_it.greet.Greeter: subclass it and override the methods.\n\n"
        f"{comment}"
    )
    methods = {
        node.name: ast.get_docstring(node)
        for node in _class(tree, "GreeterBase").body
        if isinstance(node, ast.AsyncFunctionDef)
    }
    assert methods["SayHello"] == "Says hello once."
    assert methods["LotsOfReplies"] == "Says hello `count` times."
    assert methods["LotsOfGreetings"] == (
        "Collects names and greets them all at once.\n\n"
        "Deprecated: marked ``deprecated`` in the .proto."
    )
    assert methods["NextPage"] is None  # an uncommented method has no docstring


def test_stub_attributes_carry_the_method_comment(make_request: MakeRequest) -> None:
    init = _class(_tree(make_request, GREETER), "GreeterStub").body[1]
    assert isinstance(init, ast.FunctionDef)
    docs = [
        statement.value.value
        for statement in init.body
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
    ]
    assert docs[0] == "Says hello once."


def test_without_source_info_there_are_only_summaries(make_request: MakeRequest) -> None:
    request = make_request(GREETER)
    for file in request.proto_file:
        file.ClearField("source_code_info")
    tree = ast.parse(_only_file(generate(request)).content)
    assert ast.get_docstring(_class(tree, "GreeterStub")) == "Client for tools_it.greet.Greeter."


def test_control_characters_in_comments_stay_escaped(make_request: MakeRequest) -> None:
    request = make_request(GREETER)
    [file] = [f for f in request.proto_file if f.name == GREETER]
    [location] = [loc for loc in file.source_code_info.location if list(loc.path) == [6, 0]]
    location.leading_comments = ' bell \x07, escape \x1b, delete \x7f, tab \t, a quote"\n'
    content = _only_file(generate(request)).content
    assert 'bell \\x07, escape \\x1b, delete \\x7f, tab \\x09, a quote\\"' in content
    tree = ast.parse(content)
    assert ast.get_docstring(_class(tree, "GreeterStub"), clean=False) == (
        "Client for tools_it.greet.Greeter.\n\n    bell \x07, escape \x1b, delete \x7f, tab \t, "
        'a quote"\n    '
    )


def test_public_names() -> None:
    assert plugrpc_tools.__all__ == ["generate", "main"]
