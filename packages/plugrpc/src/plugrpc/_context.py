"""The servicer context: one per server call, the handler's view of its call."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, NoReturn

from plugrpc_core import Metadata, RpcError, StatusCode
from plugrpc_transport.protocol import CallStatus

from ._stub_types import ServicerContext

if TYPE_CHECKING:
    from plugrpc_core import Compressor, MetadataLike
    from plugrpc_transport import ServerStream

    from ._server import Server

__all__ = ["AbortError", "ServerCallContext"]


class AbortError(RpcError):
    """Raised by ``context.abort``; the server ends the call with its status."""


class ServerCallContext(ServicerContext):
    """The context handed to a handler."""

    __slots__ = (
        "_code",
        "_compressor",
        "_deadline",
        "_deadline_expired",
        "_details",
        "_done",
        "_final_status",
        "_headers_sent",
        "_loop",
        "_message_compression",
        "_request_compressed",
        "_server",
        "_stream",
        "_trailing_metadata",
        "task",
    )

    def __init__(
        self, server: Server, stream: ServerStream, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._server = server
        self._stream = stream
        self._loop = loop
        self._headers_sent = False
        self._trailing_metadata: Metadata | None = None
        self._code = StatusCode.OK
        self._details = ""
        self._final_status: CallStatus | None = None
        self._done = False
        self._deadline_expired = False
        self._compressor: Compressor | None = server._default_compressor_for(stream)
        self._message_compression = True
        self._request_compressed: bool | None = None
        timeout = stream.head.timeout
        self._deadline = loop.time() + timeout if timeout is not None else None
        self.task: asyncio.Task[None] | None = None

    # -- ServicerContext --------------------------------------------------------------

    def method(self) -> str:
        """The full method path."""
        return self._stream.head.path

    def peer(self) -> str:
        """The client's address."""
        return self._stream.peer

    def peer_certificate(self) -> dict[str, Any] | None:
        """The client's TLS certificate (``ssl.getpeercert()`` form), if any."""
        cert: dict[str, Any] | None = self._stream.peer_certificate
        return cert

    def auth_context(self) -> dict[str, Any]:
        """How the client is authenticated.

        Keys: ``transport_security_type`` (``"ssl"`` or ``"insecure"``); with a verified
        client certificate also ``x509_common_name`` (the subject's CN) and
        ``x509_subject_alternative_name`` (a list of the SAN values: DNS names, IP
        addresses, URIs, e-mail addresses), the property names gRPC's auth context uses.
        """
        result: dict[str, Any] = {
            "transport_security_type": "ssl" if self._server._tls else "insecure"
        }
        cert = self._stream.peer_certificate
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        result["x509_common_name"] = value
            sans = [value for _kind, value in cert.get("subjectAltName", ())]
            if sans:
                result["x509_subject_alternative_name"] = sans
        return result

    def invocation_metadata(self) -> Metadata:
        """The request metadata."""
        return self._stream.head.metadata

    async def send_initial_metadata(self, metadata: MetadataLike) -> None:
        """Send response headers now."""
        if self._headers_sent:
            raise RuntimeError("initial metadata was already sent")
        await self._send_headers(Metadata.coerce(metadata))

    def set_trailing_metadata(self, metadata: MetadataLike) -> None:
        """Metadata to send with the status."""
        self._trailing_metadata = Metadata.coerce(metadata)

    def set_code(self, code: StatusCode) -> None:
        """The status to end with when the handler returns normally."""
        self._code = StatusCode(code)

    def set_details(self, details: str) -> None:
        """The status message to end with when the handler returns normally."""
        self._details = details

    async def abort(
        self,
        code: StatusCode,
        details: str = "",
        *,
        trailing_metadata: MetadataLike | None = None,
        status_details_bin: bytes | None = None,
    ) -> NoReturn:
        """End the call now with ``code``."""
        if code == StatusCode.OK:
            raise ValueError("abort() needs a status other than OK")
        md = (
            Metadata.coerce(trailing_metadata)
            if trailing_metadata is not None
            else (self._trailing_metadata or Metadata())
        )
        if self._final_status is None:
            self._final_status = CallStatus(
                code=StatusCode(code), message=details, details_bin=status_details_bin, metadata=md
            )
        raise AbortError(code, details, trailing_metadata=md, status_details_bin=status_details_bin)

    def set_compression(self, name: str | None) -> None:
        """Compress responses with ``name`` (if the client accepts it), None for none."""
        if name is None or name == "identity":
            self._compressor = None
            return
        compression = self._server._compression
        if not compression.accepts(name, self._stream.head.accept_encoding):
            # compression.md: never compress with an algorithm the client did not offer.
            self._compressor = None
            return
        self._compressor = compression.require(name)

    def set_message_compression(self, enabled: bool) -> None:
        """Whether the following response messages are compressed (when the call has a
        response compressor); False sends them with the compressed flag 0."""
        self._message_compression = bool(enabled)

    def request_compressed(self) -> bool | None:
        """Whether the last request message read was compressed (None before the first)."""
        return self._request_compressed

    def time_remaining(self) -> float | None:
        """Seconds until the client's deadline."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self._loop.time())

    def cancelled(self) -> bool:
        """Whether the call was cancelled, timed out or lost its connection."""
        return self._stream.cancelled or self._deadline_expired

    def done(self) -> bool:
        """Whether the call has ended."""
        return self._done

    # -- used by the server ----------------------------------------------------------

    async def _send_headers(self, metadata: Metadata) -> None:
        self._headers_sent = True
        compressor = self._compressor
        await self._stream.send_headers(
            metadata,
            encoding=compressor.name if compressor is not None else None,
            accept_encoding=self._server._compression.accept_encoding,
        )

    async def _send_response(self, payload: bytes, compressed: bool) -> None:
        if not self._headers_sent:
            await self._send_headers(Metadata())
        await self._stream.send_message(payload, compressed=compressed)

    def _status(self) -> CallStatus:
        if self._final_status is not None:
            return self._final_status
        return CallStatus(
            code=self._code,
            message=self._details,
            metadata=self._trailing_metadata or Metadata(),
        )
