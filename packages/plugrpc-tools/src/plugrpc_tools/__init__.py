"""plugrpc-tools: ``protoc-gen-plugrpc``, typed plugrpc stubs from .proto files.

Run it through protoc (``--plugrpc_out``); ``generate`` is the same generator as a function
of a ``CodeGeneratorRequest``, for build tools that drive plugins themselves.
"""

from __future__ import annotations

from ._plugin import generate, main

__version__ = "0.1.0"

__all__ = ["generate", "main"]
