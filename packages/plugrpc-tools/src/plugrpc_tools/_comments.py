"""Comments from the .proto, as Python docstrings.

protoc hands plugins the comments in ``SourceCodeInfo``: each location has a path of field
numbers and indexes into the ``FileDescriptorProto`` (descriptor.proto, ``Location.path``).
A service is ``[6, i]`` (``FileDescriptorProto.service``) and its method ``[6, i, 2, j]``
(``ServiceDescriptorProto.method``).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

__all__ = ["Comments", "docstring_lines"]

_SERVICE_FIELD = 6  # FileDescriptorProto.service
_METHOD_FIELD = 2  # ServiceDescriptorProto.method


class Comments:
    """The leading comments of one file's services and methods, looked up by index."""

    def __init__(self, file: FileDescriptorProto) -> None:
        self._leading: dict[tuple[int, ...], str] = {}
        for location in file.source_code_info.location:
            if location.leading_comments:
                self._leading[tuple(location.path)] = location.leading_comments

    def service(self, service_index: int) -> str:
        """The comment above ``service``, cleaned up; empty if there is none."""
        return _clean(self._leading.get((_SERVICE_FIELD, service_index), ""))

    def method(self, service_index: int, method_index: int) -> str:
        """The comment above ``rpc``, cleaned up; empty if there is none."""
        path = (_SERVICE_FIELD, service_index, _METHOD_FIELD, method_index)
        return _clean(self._leading.get(path, ""))


def _clean(comment: str) -> str:
    """Drop the space after ``//`` shared by every line, and blank lines at both ends."""
    lines = [line.rstrip() for line in comment.splitlines()]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _escape(text: str) -> str:
    """Make ``text`` safe inside a triple-quoted string: no early end, no escapes taken."""
    out: list[str] = []
    for char in text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"'):
        code = ord(char)
        if char != "\n" and (code < 0x20 or code == 0x7F):
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    return "".join(out)


def docstring_lines(paragraphs: list[str], indent: str) -> list[str]:
    """The lines of a docstring made of ``paragraphs`` (empty ones are skipped).

    Args:
        paragraphs: plain text; the first should be a one-line summary.
        indent: the indentation of the docstring's block.

    Returns:
        Source lines, each already indented.
    """
    body = "\n\n".join(_escape(p) for p in paragraphs if p)
    if not body:
        return []
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    if "\n" not in body:
        return [f'{indent}"""{body}"""']
    lines = body.split("\n")
    result = [f'{indent}"""{lines[0]}']
    result.extend(f"{indent}{line}" if line else "" for line in lines[1:])
    result.append(f'{indent}"""')
    return result
