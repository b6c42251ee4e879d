"""The entry point of plugrpc-codec-proto: registers the ``proto`` codec."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._codec import ProtoCodec

if TYPE_CHECKING:
    from plugrpc_core import Codec

__all__ = ["plugrpc_register_codecs"]


@hookimpl
def plugrpc_register_codecs() -> list[type[Codec]]:
    """The codecs of this distribution."""
    return [ProtoCodec]
