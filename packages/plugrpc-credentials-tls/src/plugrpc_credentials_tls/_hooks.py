"""The entry point of plugrpc-credentials-tls: registers the ``tls`` credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._channel import TlsChannelCredentials
from ._server import TlsServerCredentials

if TYPE_CHECKING:
    from plugrpc_core import ChannelCredentials, ServerCredentials

__all__ = ["plugrpc_register_channel_credentials", "plugrpc_register_server_credentials"]


@hookimpl
def plugrpc_register_channel_credentials() -> list[type[ChannelCredentials]]:
    """``tls`` for channels."""
    return [TlsChannelCredentials]


@hookimpl
def plugrpc_register_server_credentials() -> list[type[ServerCredentials]]:
    """``tls`` for servers."""
    return [TlsServerCredentials]
