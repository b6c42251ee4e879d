"""Call credentials end to end: per-channel and per-call, over TLS and (refused) plaintext.

What the credentials are asked (``CallCredentialsInfo``), where their metadata goes, the
secure-transport rule (grpc-go refuses such credentials on an insecure connection), and how
their failures map to statuses (grpc-go's http2_client.go with gRFC A54).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent import futures
from typing import Any

import grpc
import plugrpc
import pytest
import trustme
from plugrpc import CallCredentials, CallCredentialsInfo, MethodHandler, MethodKind, StatusCode
from plugrpc_credentials_tls import TlsChannelCredentials, TlsServerCredentials

SERVICE = "plugrpc.testing.Auth"


class TokenCredentials(CallCredentials):
    """A bearer token; records what it was asked and can fail or stall on demand."""

    name = "test-token"

    def __init__(
        self,
        token: str = "secret",
        *,
        fail: BaseException | None = None,
        pairs: Sequence[tuple[str, Any]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.token = token
        self.fail = fail
        self.pairs = pairs
        self.delay = delay
        self.asked: list[CallCredentialsInfo] = []

    async def get_metadata(self, info: CallCredentialsInfo) -> Sequence[tuple[str, str | bytes]]:
        self.asked.append(info)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if self.pairs is not None:
            return list(self.pairs)
        return [("authorization", f"Bearer {self.token}")]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.token!r})"


class LocalTokenCredentials(TokenCredentials):
    """A token that may travel in plaintext (``requires_secure_transport = False``)."""

    name = "test-local-token"
    requires_secure_transport = False


def _seen(context: plugrpc.ServicerContext) -> bytes:
    pairs = [
        [key, value]
        for key, value in context.invocation_metadata()
        if isinstance(value, str) and not key.startswith((":", "user-agent"))
    ]
    return json.dumps(pairs).encode()


async def _unary(request: bytes, context: plugrpc.ServicerContext) -> bytes:
    return _seen(context)


async def _bidi(requests: AsyncIterator[bytes], context: plugrpc.ServicerContext) -> Any:
    async for _request in requests:
        yield _seen(context)


HANDLERS = {
    "Unary": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=_unary),
    "Bidi": MethodHandler(kind=MethodKind.STREAM_STREAM, behavior=_bidi),
}


@pytest.fixture(scope="module")
def pki() -> tuple[trustme.CA, trustme.LeafCert]:
    ca = trustme.CA()
    return ca, ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
async def servers(pki) -> AsyncIterator[dict[str, int]]:
    _ca, cert = pki
    handler = plugrpc.method_handlers_generic_handler(SERVICE, HANDLERS)
    tls = plugrpc.Server(
        generic_handlers=[handler],
        credentials=TlsServerCredentials(
            certificate_chain=cert.cert_chain_pems[0].bytes(),
            private_key=cert.private_key_pem.bytes(),
        ),
    )
    plain = plugrpc.Server(generic_handlers=[handler])
    ports = {"tls": await tls.start("127.0.0.1:0"), "plain": await plain.start("127.0.0.1:0")}
    yield ports
    await tls.stop(0.5)
    await plain.stop(0.5)


def _tls(pki: tuple[trustme.CA, trustme.LeafCert], **kwargs: Any) -> TlsChannelCredentials:
    return TlsChannelCredentials(root_certificates=pki[0].cert_pem.bytes(), **kwargs)


def _unary_method(channel: plugrpc.Channel) -> Any:
    return channel.unary_unary(f"/{SERVICE}/Unary", bytes, bytes)


async def _metadata_seen(channel: plugrpc.Channel, **kwargs: Any) -> list[list[str]]:
    reply = await _unary_method(channel)(b"", timeout=5, **kwargs)
    return list(json.loads(reply))


async def test_channel_and_call_credentials_over_tls(servers, pki) -> None:
    channel_creds = TokenCredentials("channel-token")
    call_creds = TokenCredentials("call-token")
    port = servers["tls"]
    async with plugrpc.Channel(
        f"127.0.0.1:{port}", credentials=_tls(pki), call_credentials=[channel_creds]
    ) as channel:
        seen = await _metadata_seen(channel, metadata=[("x-user", "ann")])
        assert seen == [["authorization", "Bearer channel-token"], ["x-user", "ann"]]
        # Per-call credentials come after the channel's, before the call's own metadata.
        seen = await _metadata_seen(channel, credentials=call_creds, metadata=[("x-user", "bo")])
        assert seen == [
            ["authorization", "Bearer channel-token"],
            ["authorization", "Bearer call-token"],
            ["x-user", "bo"],
        ]
    expected = CallCredentialsInfo(
        service_url=f"https://127.0.0.1:{port}/{SERVICE}", method="Unary"
    )
    assert channel_creds.asked == [expected, expected]
    assert call_creds.asked == [expected]


async def test_service_url_uses_the_authority_without_port_443(servers, pki) -> None:
    creds = TokenCredentials()
    async with plugrpc.Channel(
        f"127.0.0.1:{servers['tls']}",
        credentials=_tls(pki),
        call_credentials=[creds],
        authority="api.example.com:443",
    ) as channel:
        with pytest.raises(plugrpc.RpcError):  # the certificate does not name api.example.com
            await _unary_method(channel)(b"", timeout=5)
    assert creds.asked[0].service_url == f"https://api.example.com/{SERVICE}"
    creds = TokenCredentials()
    async with plugrpc.Channel(
        f"127.0.0.1:{servers['tls']}",
        credentials=_tls(pki, server_hostname_override="localhost"),
        call_credentials=[creds],
    ) as channel:
        await _metadata_seen(channel)
    assert creds.asked[0].service_url == f"https://localhost/{SERVICE}"


async def test_streaming_calls_carry_credentials(servers, pki) -> None:
    creds = TokenCredentials("stream-token")
    async with plugrpc.Channel(f"127.0.0.1:{servers['tls']}", credentials=_tls(pki)) as channel:
        call = channel.stream_stream(f"/{SERVICE}/Bidi", bytes, bytes)(timeout=5, credentials=creds)
        await call.write(b"x")
        assert json.loads(await call.read()) == [["authorization", "Bearer stream-token"]]
        await call.done_writing()
    assert [info.method for info in creds.asked] == ["Bidi"]


async def test_credentials_pass_through_interceptors(servers, pki) -> None:
    class Tag(plugrpc.ClientInterceptor):
        async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            metadata = plugrpc.Metadata(details.metadata)
            metadata.add("x-intercepted", "yes")
            return await continuation(
                type(details)(**{**_fields(details), "metadata": metadata}), request
            )

    creds = TokenCredentials("with-interceptor")
    async with plugrpc.Channel(
        f"127.0.0.1:{servers['tls']}", credentials=_tls(pki), interceptors=[Tag()]
    ) as channel:
        seen = await _metadata_seen(channel, credentials=creds)
    assert seen == [["authorization", "Bearer with-interceptor"], ["x-intercepted", "yes"]]


def _fields(details: Any) -> dict[str, Any]:
    return {name: getattr(details, name) for name in details.__dataclass_fields__}


# -- the secure-transport rule ----------------------------------------------------------------


async def test_secure_call_credentials_are_refused_on_an_insecure_channel(servers) -> None:
    creds = TokenCredentials()
    async with plugrpc.Channel(f"127.0.0.1:{servers['plain']}") as channel:
        with pytest.raises(plugrpc.RpcError) as info:
            await _unary_method(channel)(b"", timeout=5, credentials=creds)
    assert info.value.code() == StatusCode.UNAUTHENTICATED
    assert "transport security" in info.value.details()
    assert "allow_insecure_call_credentials" in info.value.details()
    assert creds.asked == []  # the token never left the credentials object
    with pytest.raises(ValueError, match="requires a secure transport"):
        plugrpc.Channel(f"127.0.0.1:{servers['plain']}", call_credentials=[TokenCredentials()])


async def test_insecure_channel_accepts_credentials_when_allowed_or_not_secure(servers) -> None:
    target = f"127.0.0.1:{servers['plain']}"
    async with plugrpc.Channel(
        target, call_credentials=[TokenCredentials("a")], allow_insecure_call_credentials=True
    ) as channel:
        seen = await _metadata_seen(channel, credentials=TokenCredentials("b"))
        assert seen == [["authorization", "Bearer a"], ["authorization", "Bearer b"]]
    async with plugrpc.Channel(target, call_credentials=[LocalTokenCredentials("c")]) as channel:
        seen = await _metadata_seen(channel, credentials=LocalTokenCredentials("d"))
        assert seen == [["authorization", "Bearer c"], ["authorization", "Bearer d"]]


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail", "per_call", "code", "message"),
    [
        (plugrpc.RpcError(StatusCode.PERMISSION_DENIED, "no"), False, "PERMISSION_DENIED", "no"),
        (plugrpc.RpcError(StatusCode.UNAVAILABLE, "idp down"), True, "UNAVAILABLE", "idp down"),
        # gRFC A54: control-plane failures may not use these codes; they become INTERNAL.
        (plugrpc.RpcError(StatusCode.INVALID_ARGUMENT, "x"), False, "INTERNAL", "A54"),
        (plugrpc.RpcError(StatusCode.NOT_FOUND, "x"), True, "INTERNAL", "NOT_FOUND"),
        # Other errors: UNAUTHENTICATED for channel credentials, INTERNAL per call (grpc-go).
        (OSError("token file missing"), False, "UNAUTHENTICATED", "token file missing"),
        (OSError("token file missing"), True, "INTERNAL", "OSError: token file missing"),
    ],
)
async def test_credential_errors_map_as_grpc_go_does(
    servers, pki, fail: BaseException, per_call: bool, code: str, message: str
) -> None:
    creds = TokenCredentials(fail=fail)
    kwargs: dict[str, Any] = {} if per_call else {"call_credentials": [creds]}
    async with plugrpc.Channel(
        f"127.0.0.1:{servers['tls']}", credentials=_tls(pki), **kwargs
    ) as channel:
        with pytest.raises(plugrpc.RpcError) as info:
            await _unary_method(channel)(
                b"", timeout=5, **({"credentials": creds} if per_call else {})
            )
    assert info.value.code() == StatusCode[code]
    assert message in info.value.details()


@pytest.mark.parametrize(
    "pairs", [[("Bad Key!", "v")], [("x-ok", "bad\nvalue")], [("x-data-bin", "not bytes")]]
)
async def test_invalid_metadata_from_credentials_is_internal(servers, pki, pairs) -> None:
    creds = TokenCredentials(pairs=pairs)
    async with plugrpc.Channel(f"127.0.0.1:{servers['tls']}", credentials=_tls(pki)) as channel:
        with pytest.raises(plugrpc.RpcError) as info:
            await _unary_method(channel)(b"", timeout=5, credentials=creds)
    assert info.value.code() == StatusCode.INTERNAL
    assert "invalid metadata" in info.value.details()


async def test_slow_credentials_meet_the_deadline(servers, pki) -> None:
    creds = TokenCredentials(delay=30)
    loop = asyncio.get_running_loop()
    async with plugrpc.Channel(f"127.0.0.1:{servers['tls']}", credentials=_tls(pki)) as channel:
        start = loop.time()
        with pytest.raises(plugrpc.RpcError) as info:
            await _unary_method(channel)(b"", timeout=0.2, credentials=creds)
        assert loop.time() - start < 5
    assert info.value.code() == StatusCode.DEADLINE_EXCEEDED


# -- grpcio sees the metadata -----------------------------------------------------------------


class _Recorder(grpc.GenericRpcHandler):
    def __init__(self) -> None:
        self.metadata: list[tuple[str, str]] = []

    def service(self, details: grpc.HandlerCallDetails) -> Any:
        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.metadata.extend((m.key, m.value) for m in context.invocation_metadata())
            return b"ok"

        return grpc.unary_unary_rpc_method_handler(unary)


@pytest.fixture
def grpcio_tls(pki) -> Iterator[tuple[_Recorder, int]]:
    _, cert = pki
    recorder = _Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[recorder])
    credentials = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield recorder, port
    finally:
        server.stop(grace=None)


@pytest.mark.interop
async def test_grpcio_server_receives_call_credentials(grpcio_tls, pki) -> None:
    recorder, port = grpcio_tls
    async with plugrpc.Channel(
        f"127.0.0.1:{port}",
        credentials=_tls(pki, server_hostname_override="localhost"),
        call_credentials=[TokenCredentials("for-grpcio")],
    ) as channel:
        assert await _unary_method(channel)(b"", timeout=5) == b"ok"
    assert ("authorization", "Bearer for-grpcio") in recorder.metadata
