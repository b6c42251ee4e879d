"""The client channel: a target, its connections, and the typed method factories.

A ``Channel`` owns a ``ChannelControl`` (resolver -> service config -> balancer ->
subchannels -> transport connections) and hands out one multicallable per method. Everything
that can be decided once per channel or per method (codec, user agent, interceptor chain,
compression support) is decided at construction, so a call does only per-call work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from plugrpc_core import (
    CallCredentials,
    ChannelCredentials,
    ClientCallDetails,
    ClientInterceptor,
    ConnectivityState,
    Metadata,
    MethodKind,
    RpcError,
    StatusCode,
    parse_service_config,
)
from plugrpc_transport import TransportOptions, connect

from ._backoff import BackoffConfig
from ._call_kinds import (
    StreamStreamCallImpl,
    StreamUnaryCallImpl,
    UnaryStreamCallImpl,
    UnaryUnaryCallImpl,
)
from ._client_calls import ClientCall
from ._control import DEFAULT_IDLE_TIMEOUT, ChannelControl
from ._insecure import InsecureChannelCredentials
from ._intercepted import InterceptedCall
from ._marshal import CompressionSet, decoder_for, encoder_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from plugrpc_core import Address, Compressor, MetadataLike, MethodConfig, ServiceConfig

    from ._stub_types import (
        StreamStreamMethod,
        StreamUnaryMethod,
        UnaryStreamMethod,
        UnaryUnaryMethod,
    )

__all__ = ["Channel"]

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")

USER_AGENT = "grpc-python-plugrpc/0.1.0"
DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH = 4 * 1024 * 1024
DEFAULT_MAX_SEND_MESSAGE_LENGTH = 2**31 - 1


class _MethodRuntime:
    """What a call of one method needs, computed once per multicallable."""

    __slots__ = ("decode", "encode", "kind", "path", "request_type", "response_type", "subtype")

    def __init__(
        self,
        path: str,
        kind: MethodKind,
        request_type: type[Any],
        response_type: type[Any],
        subtype: str,
    ) -> None:
        if not path.startswith("/") or path.count("/") != 2:
            raise ValueError(f"method must look like /package.Service/Method, got {path!r}")
        self.path = path
        self.kind = kind
        self.subtype = subtype
        self.request_type = request_type
        self.response_type = response_type
        self.encode = encoder_for(request_type, subtype)
        self.decode = decoder_for(response_type, subtype)


class _Multicallable:
    __slots__ = ("_channel", "_rt", "_variants")

    def __init__(self, channel: Channel, rt: _MethodRuntime) -> None:
        self._channel = channel
        self._rt = rt
        self._variants: dict[str, _MethodRuntime] = {rt.subtype: rt}

    def _for_subtype(self, subtype: str) -> _MethodRuntime:
        rt = self._variants.get(subtype)
        if rt is None:
            base = self._rt
            rt = _MethodRuntime(
                base.path, base.kind, base.request_type, base.response_type, subtype
            )
            self._variants[subtype] = rt
        return rt

    def __call__(
        self,
        request: Any = None,
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
        wait_for_ready: bool | None = None,
        compression: str | None = None,
        content_subtype: str | None = None,
        credentials: CallCredentials | None = None,
    ) -> Any:
        channel = self._channel
        if channel._closed:
            raise RuntimeError("the channel is closed")
        md = Metadata.coerce(metadata)
        rt = self._rt if content_subtype is None else self._for_subtype(content_subtype)
        if channel._interceptors:
            details = ClientCallDetails(
                method=rt.path,
                kind=rt.kind,
                timeout=timeout,
                metadata=md,
                wait_for_ready=wait_for_ready,
                compression=compression,
            )

            def make_call(d: ClientCallDetails, r: Any) -> ClientCall:
                return self._make_call(rt, d, r, credentials)

            return InterceptedCall(channel._interceptors, details, request, make_call)
        return _CALL_CLASSES[rt.kind](
            channel, rt, request, timeout, md, wait_for_ready, compression, credentials
        )

    def _make_call(
        self,
        base: _MethodRuntime,
        details: ClientCallDetails,
        request: Any,
        credentials: CallCredentials | None = None,
    ) -> ClientCall:
        rt = base
        if details.method != base.path:
            rt = _MethodRuntime(
                details.method, base.kind, base.request_type, base.response_type, base.subtype
            )
        return _CALL_CLASSES[rt.kind](
            self._channel,
            rt,
            request,
            details.timeout,
            Metadata.coerce(details.metadata),
            details.wait_for_ready,
            details.compression,
            credentials,
        )


_CALL_CLASSES: dict[MethodKind, Callable[..., ClientCall]] = {
    MethodKind.UNARY_UNARY: UnaryUnaryCallImpl,
    MethodKind.UNARY_STREAM: UnaryStreamCallImpl,
    MethodKind.STREAM_UNARY: StreamUnaryCallImpl,
    MethodKind.STREAM_STREAM: StreamStreamCallImpl,
}


class Channel:
    """A virtual connection to a target, shared by any number of concurrent calls.

    Args:
        target: ``dns:///host:port``, ``host:port`` (dns is the default scheme),
            ``unix:/path``, ``unix-abstract:name``, ``passthrough:///addr`` or any scheme an
            installed resolver plugin provides.
        credentials: channel credentials (default: insecure, plaintext HTTP/2).
        interceptors: client interceptors, outermost first.
        default_service_config: a service config (JSON text or dict) used when the resolver
            gives none (gRFC A21).
        disable_service_config: ignore service configs from the resolver.
        compression: default ``grpc-encoding`` for requests (a compressor plugin's name).
        compressors: compressor instances that replace the installed plugin's default
            instance for their name (``GzipCompressor(level=1)``), or add a name.
        call_credentials: credentials whose metadata every call carries (per-call
            ``credentials=`` add to them), e.g. an OAuth token source.
        allow_insecure_call_credentials: let call credentials that require a secure
            transport run on an insecure channel (refused by default, as in grpc-go).
        content_subtype: the codec for calls (``proto`` by default).
        max_receive_message_length: bytes; larger responses fail RESOURCE_EXHAUSTED (4 MiB).
        max_send_message_length: bytes; larger requests fail RESOURCE_EXHAUSTED (2 GiB - 1).
        user_agent: an application token put before plugrpc's in ``user-agent``.
        authority: ``:authority`` override.
        transport_options: HTTP/2 settings (windows, frame and header sizes).
        connect_timeout: the minimum time a connection attempt may take (20 s); with
            ``backoff``, grpc-go's connection backoff parameters.
        backoff: connection backoff (1 s, x1.6, jitter 0.2, max 120 s by default).
        idle_timeout: seconds without calls after which the channel goes IDLE, closing its
            connections until the next call (30 minutes, as grpc-go; None or 0: never).

    Raises:
        ValueError: a malformed target or service config, or an unknown plugin (the message
            says what to install).
    """

    def __init__(
        self,
        target: str,
        *,
        credentials: ChannelCredentials | None = None,
        interceptors: Sequence[ClientInterceptor] = (),
        default_service_config: str | Mapping[str, Any] | None = None,
        disable_service_config: bool = False,
        compression: str | None = None,
        compressors: Sequence[Compressor] = (),
        call_credentials: Sequence[CallCredentials] = (),
        allow_insecure_call_credentials: bool = False,
        content_subtype: str = "proto",
        max_receive_message_length: int = DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
        max_send_message_length: int = DEFAULT_MAX_SEND_MESSAGE_LENGTH,
        user_agent: str | None = None,
        authority: str | None = None,
        transport_options: TransportOptions | None = None,
        connect_timeout: float = 20.0,
        backoff: BackoffConfig | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._closed = False
        self._credentials = credentials or InsecureChannelCredentials()
        self._interceptors: tuple[ClientInterceptor, ...] = tuple(interceptors)
        for interceptor in self._interceptors:
            if not isinstance(interceptor, ClientInterceptor):
                raise TypeError(f"not a ClientInterceptor: {interceptor!r}")
        self._allow_insecure_call_credentials = allow_insecure_call_credentials
        self._call_credentials: tuple[CallCredentials, ...] = tuple(call_credentials)
        for call_creds in self._call_credentials:
            if not isinstance(call_creds, CallCredentials):
                raise TypeError(f"not CallCredentials: {call_creds!r}")
            if (
                call_creds.requires_secure_transport
                and not self._credentials.is_secure
                and not allow_insecure_call_credentials
            ):
                # grpc-go refuses to dial in this case (errTransportCredentialsMissing).
                raise ValueError(
                    f"{call_creds!r} requires a secure transport, but the channel's "
                    f"credentials ({self._credentials!r}) are insecure: use TLS, or pass "
                    "allow_insecure_call_credentials=True"
                )
        self._compression = CompressionSet(compressors)
        if compression is not None and compression != "identity":
            self._compression.require(compression)
        self._default_compression = compression
        self._content_subtype = content_subtype
        self._max_receive_message_length = max_receive_message_length
        self._max_send_message_length = max_send_message_length
        self._user_agent = f"{user_agent} {USER_AGENT}" if user_agent else USER_AGENT
        options = transport_options or TransportOptions()
        if options.max_receive_message_length != max_receive_message_length:
            options = dataclasses.replace(
                options, max_receive_message_length=max_receive_message_length
            )
        self._transport_options = options
        if backoff is None:
            backoff = BackoffConfig(min_connect_timeout=connect_timeout)
        default_config: ServiceConfig | None = None
        if default_service_config is not None:
            raw = (
                default_service_config
                if isinstance(default_service_config, str)
                else json.dumps(default_service_config)
            )
            default_config = parse_service_config(raw)
        self._control = ChannelControl(
            target,
            connector=self._connect,
            default_service_config=default_config,
            disable_service_config=disable_service_config,
            backoff=backoff,
            idle_timeout=idle_timeout,
        )
        self._scheme = "https" if self._credentials.is_secure else "http"
        self._authority = (
            authority or self._credentials.authority_override() or self._control.authority
        )

    async def _connect(self, address: Address) -> Any:
        ssl_context = self._credentials.client_ssl_context()
        server_hostname = None
        if ssl_context is not None:
            host = self._authority.rsplit(":", 1)[0] if self._authority else address.host
            server_hostname = self._credentials.server_hostname(host.strip("[]"))
        return await connect(
            address,
            options=self._transport_options,
            ssl=ssl_context,
            server_hostname=server_hostname,
            # The subchannel bounds each attempt by max(min connect timeout, backoff), so
            # the transport's own limit only has to stay out of its way.
            timeout=3600.0,
        )

    def _method_config(self, path: str) -> MethodConfig | None:
        config = self._control.service_config
        if config is None:
            return None
        return config.method_config(path)

    # -- method factories -------------------------------------------------------------

    def _runtime(
        self, method: str, kind: MethodKind, request_type: type[Any], response_type: type[Any]
    ) -> _MethodRuntime:
        return _MethodRuntime(method, kind, request_type, response_type, self._content_subtype)

    def unary_unary(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> UnaryUnaryMethod[RequestT, ResponseT]:
        """A callable for the unary method at ``method`` (``/package.Service/Method``)."""
        rt = self._runtime(method, MethodKind.UNARY_UNARY, request_type, response_type)
        return cast("UnaryUnaryMethod[RequestT, ResponseT]", _Multicallable(self, rt))

    def unary_stream(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> UnaryStreamMethod[RequestT, ResponseT]:
        """A callable for the server-streaming method at ``method``."""
        rt = self._runtime(method, MethodKind.UNARY_STREAM, request_type, response_type)
        return cast("UnaryStreamMethod[RequestT, ResponseT]", _Multicallable(self, rt))

    def stream_unary(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> StreamUnaryMethod[RequestT, ResponseT]:
        """A callable for the client-streaming method at ``method``."""
        rt = self._runtime(method, MethodKind.STREAM_UNARY, request_type, response_type)
        return cast("StreamUnaryMethod[RequestT, ResponseT]", _Multicallable(self, rt))

    def stream_stream(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> StreamStreamMethod[RequestT, ResponseT]:
        """A callable for the bidirectional method at ``method``."""
        rt = self._runtime(method, MethodKind.STREAM_STREAM, request_type, response_type)
        return cast("StreamStreamMethod[RequestT, ResponseT]", _Multicallable(self, rt))

    # -- connectivity -----------------------------------------------------------------

    def get_state(self, try_to_connect: bool = False) -> ConnectivityState:
        """The channel's connectivity state; ``try_to_connect`` leaves IDLE."""
        return self._control.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed: ConnectivityState) -> ConnectivityState:
        """Wait until the state differs from ``last_observed`` and return the new one."""
        return await self._control.wait_for_state_change(last_observed)

    async def channel_ready(self) -> None:
        """Connect and wait until the channel is READY."""
        state = self.get_state(try_to_connect=True)
        while state is not ConnectivityState.READY:
            if state is ConnectivityState.SHUTDOWN:
                raise RpcError(StatusCode.UNAVAILABLE, "the channel is closed")
            state = await self.wait_for_state_change(state)

    def reset_connect_backoff(self) -> None:
        """Retry connections now instead of after their backoff."""
        self._control.reset_connect_backoff()

    @property
    def target(self) -> str:
        """The target this channel was made for."""
        return self._control.target.raw

    async def close(self, grace: float | None = None) -> None:
        """Close the channel.

        Without ``grace``, active calls are cancelled at once (grpcio's behaviour); with it,
        they may finish within ``grace`` seconds before their connections are closed.
        """
        if self._closed:
            return
        self._closed = True
        if grace is None:
            await self._control.close(drain=False)
            return
        try:
            await asyncio.wait_for(self._control.close(), grace)
        except TimeoutError:
            await self._control.close(drain=False)

    async def __aenter__(self) -> Channel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<plugrpc.Channel {self._control.target.raw!r}>"
