"""Where each message type of a request is defined, so a stub can import it.

protoc gives a method's input and output types as fully qualified names
(``.package.Outer.Inner``); the generated code needs the ``.proto`` file that defines the
type (for its ``_pb2`` module) and the path of class names inside that module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

__all__ = ["GeneratorError", "MessageRef", "TypeIndex"]


class GeneratorError(Exception):
    """A request the generator cannot serve; protoc shows the message to the user."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRef:
    """A message type: the .proto file defining it and its class path in the ``_pb2`` module.

    Args:
        file: the defining file's name as protoc knows it (``foo/bar.proto``).
        path: class names from the module down: ``("Outer", "Inner")``.
    """

    file: str
    path: tuple[str, ...]


class TypeIndex:
    """Every message type of every file protoc sent (the files to generate and all imports)."""

    def __init__(self, files: Iterable[FileDescriptorProto]) -> None:
        self._messages: dict[str, MessageRef] = {}
        for file in files:
            prefix = f".{file.package}" if file.package else ""
            self._add(file.name, prefix, (), file.message_type)

    def _add(
        self,
        file: str,
        prefix: str,
        parents: tuple[str, ...],
        messages: Iterable[DescriptorProto],
    ) -> None:
        for message in messages:
            full_name = f"{prefix}.{message.name}"
            path = (*parents, message.name)
            self._messages[full_name] = MessageRef(file=file, path=path)
            self._add(file, full_name, path, message.nested_type)

    def message(self, full_name: str) -> MessageRef:
        """The message named ``full_name`` (``.package.Message``, as protoc writes it).

        Raises:
            GeneratorError: no file of the request defines it.
        """
        try:
            return self._messages[full_name]
        except KeyError:
            raise GeneratorError(f"message type {full_name} is not defined in any file") from None
