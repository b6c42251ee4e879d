"""protoc-gen-plugrpc: the protoc plugin entry point.

protoc runs a plugin with a serialized ``CodeGeneratorRequest`` on stdin and reads a
``CodeGeneratorResponse`` from its stdout (google/protobuf/compiler/plugin.proto). Errors
in the request (what the user can fix) go back in ``CodeGeneratorResponse.error``, which
protoc prints; a crash is a bug here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from google.protobuf.compiler import plugin_pb2
from google.protobuf.descriptor_pb2 import Edition

from ._index import GeneratorError, TypeIndex
from ._model import build_model
from ._names import output_path
from ._render import render

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["generate", "main"]

_Response = plugin_pb2.CodeGeneratorResponse

#: proto3 ``optional`` and editions change message code only; stubs name services,
#: methods and message classes, which neither touches, so every edition protoc knows of
#: up to 2024 is served.
_FEATURES = _Response.FEATURE_PROTO3_OPTIONAL | _Response.FEATURE_SUPPORTS_EDITIONS
_MINIMUM_EDITION = Edition.EDITION_2023
_MAXIMUM_EDITION = Edition.EDITION_2024

_USAGE = """\
protoc-gen-plugrpc: a protoc plugin that writes typed plugrpc stubs (<file>_plugrpc.py).

protoc runs it; it is not run by hand:

    protoc -I PROTO_DIR --python_out=OUT --pyi_out=OUT --plugrpc_out=OUT FILE.proto

(with grpcio-tools: python -m grpc_tools.protoc ... --plugin=protoc-gen-plugrpc=PATH)
"""


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Generate the ``_plugrpc.py`` module of each requested file that has services.

    A file without services gets no module (as protoc-gen-go-grpc does), so an empty one is
    never imported for nothing.

    Args:
        request: what protoc sends: the files to generate and every file they import.

    Returns:
        The response for protoc: the files, or an error message.
    """
    response = _Response(
        supported_features=_FEATURES,
        minimum_edition=_MINIMUM_EDITION,
        maximum_edition=_MAXIMUM_EDITION,
    )
    try:
        if request.parameter:
            raise GeneratorError(f"protoc-gen-plugrpc takes no options, got {request.parameter!r}")
        index = TypeIndex(request.proto_file)
        files = {file.name: file for file in request.proto_file}
        for name in request.file_to_generate:
            file = files.get(name)
            if file is None:
                raise GeneratorError(f"{name}: protoc sent no descriptor for it")
            if not file.service:
                continue
            response.file.add(name=output_path(name), content=render(build_model(file, index)))
    except GeneratorError as exc:
        del response.file[:]
        response.error = str(exc)
    return response


def main(argv: Sequence[str] | None = None) -> int:
    """Run as protoc's plugin: request on stdin, response on stdout.

    Args:
        argv: command-line arguments (protoc passes none); default ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from . import __version__

        print(f"protoc-gen-plugrpc {__version__}")
        return 0
    if args or sys.stdin.isatty():
        sys.stderr.write(_USAGE)
        return 2
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())
    sys.stdout.buffer.flush()
    return 0
