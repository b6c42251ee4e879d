"""The entry point of plugrpc-compress-deflate: registers the ``deflate`` compressor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._compressor import DeflateCompressor

if TYPE_CHECKING:
    from plugrpc_core import Compressor

__all__ = ["plugrpc_register_compressors"]


@hookimpl
def plugrpc_register_compressors() -> list[type[Compressor]]:
    """The compressors of this distribution."""
    return [DeflateCompressor]
