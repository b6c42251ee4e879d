"""What one ``_plugrpc.py`` module holds, with every Python name chosen.

Names are settled here, before any text is written, in a fixed order (the module's own
imports, then the ``_pb2`` aliases, then each service's constant, stub and base), so the
output depends only on the request. The rules that keep odd .proto names valid Python:

- A method's Python name is its .proto name unless that is a keyword (``class`` ->
  ``class_``), would be mangled in a class body (``__x`` -> ``rpc__x``), is the base's
  ``plugrpc_service`` attribute, or is a module-level name that the base's class body
  uses (a method of that name would shadow it there). A renamed method is still reachable
  under its .proto name, the name the server looks up, except when that name is a dunder or
  ``plugrpc_service``: such a method can be called but not served.
- A message class path that Python cannot spell (a keyword, a mangled name) or a module that
  cannot be imported by a statement (a keyword in its package path) is reached with
  ``getattr`` / ``importlib`` and annotated as ``Any``.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._comments import Comments
from ._names import (
    Namespace,
    is_mangled,
    module_alias,
    module_has_keyword,
    pb2_module_name,
    service_constant,
)

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto, MethodDescriptorProto

    from ._index import MessageRef, TypeIndex

__all__ = ["FileModel", "MethodModel", "ModuleImport", "ServiceModel", "TypeExpr", "build_model"]

#: Names the generated module binds before any of its own (see ``_render``).
FIXED_NAMES = frozenset(
    {
        "annotations",
        "TYPE_CHECKING",
        "Any",
        "AsyncIterator",
        "ClassVar",
        "importlib",
        "plugrpc",
    }
)

#: The attribute through which the server finds a servicer's descriptor.
SERVICE_ATTRIBUTE = "plugrpc_service"


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeExpr:
    """How generated code names a message class: at run time, and in an annotation."""

    runtime: str
    annotation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleImport:
    """One ``_pb2`` module the generated module imports, and the alias it binds."""

    module: str
    alias: str
    static: bool  # False: a keyword in the module path forces importlib.import_module


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodModel:
    """One rpc, with the Python name it gets on the stub and the base."""

    wire_name: str
    py_name: str
    forward: bool  # also bind the .proto name, as an alias of py_name
    client_streaming: bool
    server_streaming: bool
    path: str
    request: TypeExpr
    response: TypeExpr
    doc: str
    deprecated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceModel:
    """One service and the three module-level names generated for it."""

    full_name: str
    constant: str
    stub: str
    base: str
    doc: str
    deprecated: bool
    methods: tuple[MethodModel, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileModel:
    """Everything the renderer needs for one .proto file."""

    source: str
    imports: tuple[ModuleImport, ...]
    services: tuple[ServiceModel, ...]
    uses_any: bool
    uses_async_iterator: bool


def _spellable(name: str) -> bool:
    """Whether ``name`` can be written as an attribute anywhere in generated code."""
    return not keyword.iskeyword(name) and not is_mangled(name)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class _Builder:
    def __init__(self, file: FileDescriptorProto, index: TypeIndex) -> None:
        self._file = file
        self._index = index
        self._namespace = Namespace(FIXED_NAMES)
        self._imports: dict[str, ModuleImport] = {}
        self.uses_any = False

    def build(self) -> FileModel:
        file = self._file
        # Aliases first, in module order, so they keep protoc's spelling whenever possible.
        modules = sorted(
            {
                pb2_module_name(self._index.message(type_name).file)
                for service in file.service
                for method in service.method
                for type_name in (method.input_type, method.output_type)
            }
        )
        for module in modules:
            self._imports[module] = ModuleImport(
                module=module,
                alias=self._namespace.claim(module_alias(module)),
                static=not module_has_keyword(module),
            )
        names = [
            (
                self._namespace.claim(service_constant(service.name)),
                self._namespace.claim(f"{service.name}Stub"),
                self._namespace.claim(f"{service.name}Base"),
            )
            for service in file.service
        ]
        comments = Comments(file)
        services = []
        for service_index, (service, (constant, stub, base)) in enumerate(
            zip(file.service, names, strict=True)
        ):
            full_name = f"{file.package}.{service.name}" if file.package else service.name
            py_names = self._method_names([method.name for method in service.method], constant)
            methods = tuple(
                self._method(full_name, method, py_name, comments.method(service_index, i))
                for i, (method, py_name) in enumerate(zip(service.method, py_names, strict=True))
            )
            services.append(
                ServiceModel(
                    full_name=full_name,
                    constant=constant,
                    stub=stub,
                    base=base,
                    doc=comments.service(service_index),
                    deprecated=service.options.deprecated,
                    methods=methods,
                )
            )
        return FileModel(
            source=file.name,
            imports=tuple(self._imports[module] for module in modules),
            services=tuple(services),
            uses_any=self.uses_any,
            uses_async_iterator=any(
                method.client_streaming or method.server_streaming
                for service in services
                for method in service.methods
            ),
        )

    def _method_names(self, wire_names: list[str], constant: str) -> list[str]:
        # The names a base's class body refers to; other module names are not shadowed.
        module_names = (
            FIXED_NAMES | {module.alias for module in self._imports.values()} | {constant}
        )

        def keeps_name(name: str) -> bool:
            return _spellable(name) and name != SERVICE_ATTRIBUTE and name not in module_names

        namespace = Namespace(
            module_names | {SERVICE_ATTRIBUTE} | {name for name in wire_names if keeps_name(name)}
        )
        py_names = []
        for name in wire_names:
            if keeps_name(name):
                py_names.append(name)
            else:
                py_names.append(namespace.claim(f"rpc{name}" if is_mangled(name) else f"{name}_"))
        return py_names

    def _method(
        self, service: str, method: MethodDescriptorProto, py_name: str, doc: str
    ) -> MethodModel:
        wire_name = method.name
        return MethodModel(
            wire_name=wire_name,
            py_name=py_name,
            forward=(
                py_name != wire_name
                and not _is_dunder(wire_name)
                and wire_name != SERVICE_ATTRIBUTE
            ),
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
            path=f"/{service}/{wire_name}",
            request=self._type(self._index.message(method.input_type)),
            response=self._type(self._index.message(method.output_type)),
            doc=doc,
            deprecated=method.options.deprecated,
        )

    def _type(self, ref: MessageRef) -> TypeExpr:
        module = self._imports[pb2_module_name(ref.file)]
        runtime = module.alias
        for part in ref.path:
            runtime = f"{runtime}.{part}" if _spellable(part) else f'getattr({runtime}, "{part}")'
        if module.static and all(_spellable(part) for part in ref.path):
            return TypeExpr(runtime=runtime, annotation=runtime)
        self.uses_any = True
        return TypeExpr(runtime=runtime, annotation="Any")


def build_model(file: FileDescriptorProto, index: TypeIndex) -> FileModel:
    """Choose every name of ``file``'s generated module.

    Raises:
        GeneratorError: a method's type is defined in no file of the request.
    """
    return _Builder(file, index).build()
