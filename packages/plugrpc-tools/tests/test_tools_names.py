"""protoc's Python module naming, and the identifiers the generator picks."""

from __future__ import annotations

import keyword

import pytest
from plugrpc_tools._names import (
    Namespace,
    is_mangled,
    module_alias,
    module_has_keyword,
    output_path,
    pb2_module_name,
    service_constant,
    strip_proto,
)


@pytest.mark.parametrize(
    ("filename", "module", "path"),
    [
        ("helloworld.proto", "helloworld_pb2", "helloworld_plugrpc.py"),
        ("foo/bar/baz.proto", "foo.bar.baz_pb2", "foo/bar/baz_plugrpc.py"),
        ("foo-bar/baz-qux.proto", "foo_bar.baz_qux_pb2", "foo_bar/baz_qux_plugrpc.py"),
        ("a.b/c.proto", "a.b.c_pb2", "a/b/c_plugrpc.py"),
        ("old.protodevel", "old_pb2", "old_plugrpc.py"),
    ],
)
def test_module_name_and_output_path(filename: str, module: str, path: str) -> None:
    assert pb2_module_name(filename) == module
    assert output_path(filename) == path


def test_strip_proto_leaves_other_names() -> None:
    assert strip_proto("notes.txt") == "notes.txt"
    assert strip_proto("x.proto") == "x"


@pytest.mark.parametrize(
    ("module", "alias"),
    [
        ("helloworld_pb2", "helloworld__pb2"),
        ("foo.bar_pb2", "foo_dot_bar__pb2"),
        ("google.protobuf.empty_pb2", "google_dot_protobuf_dot_empty__pb2"),
        ("a_dot_b_pb2", "a__dot__b__pb2"),  # distinct from a.b_pb2's alias
        # A leading underscore would give a leading "__": mangled inside a class body.
        ("_internal.x_pb2", "pb__internal_dot_x__pb2"),
    ],
)
def test_module_alias(module: str, alias: str) -> None:
    assert module_alias(module) == alias


@pytest.mark.parametrize(
    "module",
    [
        "_pb2",
        "__x_pb2",
        "_a._b._c_pb2",
        "__init__._x_pb2",
        "x.__y___pb2",
        "a_.b__.c___pb2",
        "A.B.C_pb2",
    ],
)
def test_aliases_are_identifiers_never_mangled(module: str) -> None:
    alias = module_alias(module)
    assert alias.isidentifier()
    assert not keyword.iskeyword(alias)
    assert not is_mangled(alias)


def test_aliases_keep_distinct_modules_distinct() -> None:
    # protoc's scheme is one-to-one; the rare clash of a "pb"-prefixed alias with a natural
    # one is resolved by the module's namespace like any other clash.
    modules = ["a.b_pb2", "a_b_pb2", "a_dot_b_pb2", "a__b_pb2", "a.b_c_pb2", "a_b.c_pb2"]
    assert len({module_alias(module) for module in modules}) == len(modules)


def test_module_has_keyword() -> None:
    assert module_has_keyword("a.class.b_pb2")
    assert module_has_keyword("None_pb2") is False  # "None_pb2" is a plain name
    assert not module_has_keyword("a.klass.b_pb2")


@pytest.mark.parametrize(
    ("service", "constant"),
    [
        ("Greeter", "GREETER_SERVICE"),
        ("RouteGuide", "ROUTE_GUIDE_SERVICE"),
        ("GreeterService", "GREETER_SERVICE"),
        ("Service", "SERVICE"),
        ("HTTPProxy", "HTTP_PROXY_SERVICE"),
        ("EchoV2", "ECHO_V2_SERVICE"),
        ("snake_case", "SNAKE_CASE_SERVICE"),
        ("__Hidden", "HIDDEN_SERVICE"),
        ("_", "SERVICE"),
    ],
)
def test_service_constant(service: str, constant: str) -> None:
    assert service_constant(service) == constant


def test_is_mangled() -> None:
    assert is_mangled("__x")
    assert is_mangled("__init__")
    assert not is_mangled("_x")
    assert not is_mangled("x__")


def test_namespace_appends_underscores_to_taken_names() -> None:
    namespace = Namespace({"plugrpc"})
    assert namespace.claim("plugrpc") == "plugrpc_"
    assert namespace.claim("plugrpc") == "plugrpc__"
    assert namespace.claim("Greeter") == "Greeter"
    assert namespace.claim("Greeter") == "Greeter_"
    assert {"plugrpc", "plugrpc_", "plugrpc__", "Greeter", "Greeter_"} == namespace.names()
    assert "Greeter_" in namespace


@pytest.mark.parametrize("word", ["class", "None", "async"])
def test_namespace_never_hands_out_a_keyword(word: str) -> None:
    assert keyword.iskeyword(word)
    assert Namespace().claim(word) == f"{word}_"
