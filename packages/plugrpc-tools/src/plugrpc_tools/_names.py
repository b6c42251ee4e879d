"""Python names for generated code: protoc's module naming, and safe identifiers.

The ``_pb2`` module of a .proto file is named the way protoc's Python generator names it
(``python/generator.cc``: ``ModuleName`` and ``ModuleAlias``), so the generated
``_plugrpc.py`` module sits beside the ``_pb2.py`` module and imports it, and the modules of
imported .proto files, under the names protoc gives them.

Everything else here keeps generated names valid Python: not keywords, not mangled inside a
class body (a name starting with two underscores), and never the same name twice.
"""

from __future__ import annotations

import keyword

__all__ = [
    "Namespace",
    "is_mangled",
    "module_alias",
    "module_has_keyword",
    "output_path",
    "pb2_module_name",
    "service_constant",
    "strip_proto",
]


def strip_proto(filename: str) -> str:
    """``filename`` without its ``.proto`` (or the old ``.protodevel``) extension."""
    for suffix in (".protodevel", ".proto"):
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def pb2_module_name(filename: str) -> str:
    """The dotted module name protoc's Python generator gives ``filename``'s ``_pb2`` module.

    ``foo/bar-baz.proto`` becomes ``foo.bar_baz_pb2``: dashes turn into underscores and
    directories into packages.
    """
    return strip_proto(filename).replace("-", "_").replace("/", ".") + "_pb2"


def output_path(filename: str) -> str:
    """Where the ``_plugrpc.py`` module of ``filename`` goes, relative to ``--plugrpc_out``.

    The same directory as protoc's ``--python_out`` puts the ``_pb2.py`` module: the module
    name's dots become directories (so a dot in a directory name does too).
    """
    module = pb2_module_name(filename).removesuffix("_pb2")
    return module.replace(".", "/") + "_plugrpc.py"


def module_alias(module_name: str) -> str:
    """The name a ``_pb2`` module is imported as: protoc's alias for it, made class-safe.

    protoc doubles underscores and spells dots as ``_dot_`` (``foo.bar_pb2`` is
    ``foo_dot_bar__pb2``), which keeps distinct modules distinct. A module whose name starts
    with an underscore would get an alias starting with two, which Python mangles inside a
    class body, so such an alias gets a ``pb`` prefix.
    """
    alias = module_name.replace("_", "__").replace(".", "_dot_")
    if alias.startswith("__"):
        alias = "pb" + alias
    return alias


def module_has_keyword(module_name: str) -> bool:
    """Whether a dotted module name cannot appear in an import statement."""
    return any(keyword.iskeyword(part) for part in module_name.split("."))


def is_mangled(name: str) -> bool:
    """Whether ``name``, written inside a class body, is not the name Python looks up.

    Python rewrites ``__x`` inside a class to ``_Class__x`` (private name mangling);
    dunder names (``__x__``) are left alone, but they are the language's own.
    """
    return name.startswith("__")


def _upper_snake(name: str) -> str:
    """``HTTPGreeterV2`` -> ``HTTP_GREETER_V2``: a word break at each case change."""
    out: list[str] = []
    for i, char in enumerate(name):
        if char.isupper() and i > 0:
            prev = name[i - 1]
            following = name[i + 1] if i + 1 < len(name) else ""
            if prev.islower() or prev.isdigit() or (prev.isupper() and following.islower()):
                out.append("_")
        out.append(char.upper())
    return "".join(out)


def service_constant(service_name: str) -> str:
    """The module constant holding a service's descriptor: ``Greeter`` -> ``GREETER_SERVICE``.

    A name that already ends in "Service" is not repeated (``GreeterService`` ->
    ``GREETER_SERVICE``), and leading underscores are dropped so the constant can be
    named inside a class body.
    """
    snake = _upper_snake(service_name).lstrip("_")
    if snake == "SERVICE" or snake.endswith("_SERVICE"):
        return snake
    return f"{snake}_SERVICE" if snake else "SERVICE"


class Namespace:
    """The names already bound in one scope of a generated module.

    ``claim`` hands out a name that is free, appending underscores to a taken one, so two
    services or methods that map to the same Python name still produce valid, distinct code.
    """

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved)

    def __contains__(self, name: object) -> bool:
        return name in self._taken

    def claim(self, wanted: str) -> str:
        """Take ``wanted``, or ``wanted`` followed by underscores if that is taken.

        A keyword is never handed out; keeping names unmangled is the caller's part.
        """
        name = wanted
        while name in self._taken or keyword.iskeyword(name):
            name += "_"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        """Mark ``name`` as taken without checking it."""
        self._taken.add(name)

    def names(self) -> frozenset[str]:
        """Every name taken so far."""
        return frozenset(self._taken)
