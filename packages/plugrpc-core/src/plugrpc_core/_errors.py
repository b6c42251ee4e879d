"""The one error type of a failed call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._metadata import Metadata
from ._status import StatusCode

if TYPE_CHECKING:
    from ._metadata import MetadataLike

__all__ = ["RpcError"]


class RpcError(Exception):
    """A call ended with a status other than OK.

    Methods mirror grpcio's habits (``err.code()``, ``err.details()``). Rich error details
    travel as the raw bytes of ``grpc-status-details-bin`` (a serialized ``google.rpc.Status``);
    ``plugrpc_codec_proto.rich_status(err)`` decodes them when protobuf is installed.

    Args:
        code: the status code.
        details: the human-readable message (``grpc-message``).
        initial_metadata: response headers, if any arrived.
        trailing_metadata: response trailers.
        status_details_bin: raw ``grpc-status-details-bin``, or None.
    """

    def __init__(
        self,
        code: StatusCode,
        details: str = "",
        *,
        initial_metadata: MetadataLike | None = None,
        trailing_metadata: MetadataLike | None = None,
        status_details_bin: bytes | None = None,
    ) -> None:
        super().__init__(code, details)
        self._code = StatusCode(code)
        self._details = details
        self._initial_metadata = Metadata.coerce(initial_metadata)
        self._trailing_metadata = Metadata.coerce(trailing_metadata)
        self._status_details_bin = status_details_bin

    def code(self) -> StatusCode:
        """The status code."""
        return self._code

    def details(self) -> str:
        """The status message."""
        return self._details

    def initial_metadata(self) -> Metadata:
        """Response headers (empty if the call failed before any arrived)."""
        return self._initial_metadata

    def trailing_metadata(self) -> Metadata:
        """Response trailers."""
        return self._trailing_metadata

    def status_details_bin(self) -> bytes | None:
        """Raw ``grpc-status-details-bin`` (a serialized ``google.rpc.Status``), if sent."""
        return self._status_details_bin

    def __str__(self) -> str:
        if self._details:
            return f"{self._code.name}: {self._details}"
        return self._code.name

    def __repr__(self) -> str:
        return f"RpcError({self._code.name}, {self._details!r})"
