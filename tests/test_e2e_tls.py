"""TLS end to end: plugrpc-credentials-tls over real loopback TLS, with trustme certificates.

Server authentication, mutual TLS (required and optional) and the server's view of the
client (``auth_context``), the failures a user must be able to read (unknown CA, wrong
name, no ALPN ``h2`` either way), the server-name override, certificates reloaded from files
without a restart, and grpcio as the peer in both directions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import echo_pb2
import echo_pb2_grpc
import echo_plugrpc
import grpc
import plugrpc
import pytest
import trustme
from plugrpc import StatusCode
from plugrpc_credentials_tls import TlsChannelCredentials, TlsServerCredentials


@pytest.fixture
def make_service(echo_service: Any) -> Any:
    """A factory of Echo services (conftest's) that record each Unary call's auth context
    and ``:authority`` in ``seen``."""

    class AuthEcho(type(echo_service)):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[dict[str, Any], str | bytes | None]] = []

        async def Unary(
            self, request: echo_pb2.EchoRequest, context: plugrpc.ServicerContext
        ) -> echo_pb2.EchoResponse:
            metadata = context.invocation_metadata()
            self.seen.append((context.auth_context(), metadata.get(":authority")))
            return await super().Unary(request, context)

    return AuthEcho


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture(scope="module")
def client_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("client.example", "client@example.org", common_name="client one")


def _server_creds(cert: trustme.LeafCert, **kwargs: Any) -> TlsServerCredentials:
    return TlsServerCredentials(
        certificate_chain=b"".join(blob.bytes() for blob in cert.cert_chain_pems),
        private_key=cert.private_key_pem.bytes(),
        **kwargs,
    )


def _client_identity(cert: trustme.LeafCert) -> dict[str, bytes]:
    return {
        "certificate_chain": cert.cert_chain_pems[0].bytes(),
        "private_key": cert.private_key_pem.bytes(),
    }


@pytest.fixture
async def start_server(make_service: Any) -> AsyncIterator[Any]:
    servers: list[plugrpc.Server] = []

    async def start(creds: TlsServerCredentials, service: Any = None) -> int:
        server = plugrpc.Server([service or make_service()], credentials=creds)
        servers.append(server)
        return await server.start("127.0.0.1:0")

    yield start
    for server in servers:
        await server.stop(grace=0.5)


async def _unary(
    port: int, creds: TlsChannelCredentials, *, host: str = "127.0.0.1"
) -> echo_pb2.EchoResponse:
    async with plugrpc.Channel(f"{host}:{port}", credentials=creds) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        return await stub.Unary(echo_pb2.EchoRequest(message="tls"), timeout=5)


async def _unary_error(port: int, creds: TlsChannelCredentials) -> plugrpc.RpcError:
    with pytest.raises(plugrpc.RpcError) as info:
        await _unary(port, creds)
    return info.value


# -- server authentication ----------------------------------------------------------------


async def test_tls_calls_of_every_kind(ca, server_cert, start_server, make_service) -> None:
    service = make_service()
    port = await start_server(_server_creds(server_cert), service)
    creds = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
    async with plugrpc.Channel(f"127.0.0.1:{port}", credentials=creds) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        reply = await stub.Unary(echo_pb2.EchoRequest(message="hi", payload=b"x" * 300_000))
        assert reply.message == "hi" and len(reply.payload) == 300_000
        streamed = [
            r.index async for r in stub.ServerStream(echo_pb2.EchoRequest(response_count=3))
        ]
        assert streamed == [0, 1, 2]
        total = await stub.ClientStream([echo_pb2.EchoRequest(payload=b"ab")] * 4)
        assert total.received_bytes == 8
        bidi = stub.Bidi()
        await bidi.write(echo_pb2.EchoRequest(message="ping"))
        assert (await bidi.read()).message == "ping"
        await bidi.done_writing()
        assert await bidi.read() is None
    [(auth, authority)] = service.seen
    assert auth == {"transport_security_type": "ssl"}  # no client certificate was asked for
    assert authority == f"127.0.0.1:{port}"


async def test_server_hostname_override_sets_sni_verification_and_authority(
    ca, start_server, make_service
) -> None:
    named = ca.issue_cert("backend.internal")  # no IP address: must be verified by name
    service = make_service()
    port = await start_server(_server_creds(named), service)
    creds = TlsChannelCredentials(
        root_certificates=ca.cert_pem.bytes(), server_hostname_override="backend.internal"
    )
    assert (await _unary(port, creds)).message == "tls"
    assert service.seen[0][1] == "backend.internal"
    # Without the override the certificate does not name 127.0.0.1.
    error = await _unary_error(port, TlsChannelCredentials(root_certificates=ca.cert_pem.bytes()))
    assert error.code() == StatusCode.UNAVAILABLE
    assert "certificate verify failed" in error.details() and "127.0.0.1" in error.details()


async def test_unknown_ca_fails_unavailable_saying_the_certificate_failed(
    server_cert, start_server
) -> None:
    port = await start_server(_server_creds(server_cert))
    other_ca = trustme.CA()
    error = await _unary_error(
        port, TlsChannelCredentials(root_certificates=other_ca.cert_pem.bytes())
    )
    assert error.code() == StatusCode.UNAVAILABLE
    assert "certificate verify failed" in error.details()
    assert "unable to get local issuer certificate" in error.details()


async def test_system_roots_do_not_trust_a_private_ca(server_cert, start_server) -> None:
    port = await start_server(_server_creds(server_cert))
    error = await _unary_error(port, TlsChannelCredentials())
    assert error.code() == StatusCode.UNAVAILABLE
    assert "certificate verify failed" in error.details()


async def test_wrong_server_name_fails_naming_it(ca, server_cert, start_server) -> None:
    port = await start_server(_server_creds(server_cert))
    creds = TlsChannelCredentials(
        root_certificates=ca.cert_pem.bytes(), server_hostname_override="wrong.example"
    )
    error = await _unary_error(port, creds)
    assert error.code() == StatusCode.UNAVAILABLE
    assert "certificate verify failed" in error.details()
    assert "wrong.example" in error.details()


# -- mutual TLS ------------------------------------------------------------------------------


async def test_mutual_tls_required(
    ca, server_cert, client_cert, start_server, make_service
) -> None:
    service = make_service()
    creds = _server_creds(
        server_cert, root_certificates=ca.cert_pem.bytes(), client_auth="required"
    )
    port = await start_server(creds, service)
    trusted = TlsChannelCredentials(
        root_certificates=ca.cert_pem.bytes(), **_client_identity(client_cert)
    )
    assert (await _unary(port, trusted)).message == "tls"
    [(auth, _)] = service.seen
    assert auth == {
        "transport_security_type": "ssl",
        "x509_common_name": "client one",
        "x509_subject_alternative_name": ["client.example", "client@example.org"],
    }
    # No client certificate: the server ends the handshake.
    error = await _unary_error(port, TlsChannelCredentials(root_certificates=ca.cert_pem.bytes()))
    assert error.code() == StatusCode.UNAVAILABLE
    # A client certificate from a CA the server does not trust.
    stranger = trustme.CA().issue_cert("client.example")
    error = await _unary_error(
        port,
        TlsChannelCredentials(root_certificates=ca.cert_pem.bytes(), **_client_identity(stranger)),
    )
    assert error.code() == StatusCode.UNAVAILABLE
    assert len(service.seen) == 1


async def test_mutual_tls_optional(
    ca, server_cert, client_cert, start_server, make_service
) -> None:
    service = make_service()
    creds = _server_creds(
        server_cert, root_certificates=ca.cert_pem.bytes(), client_auth="optional"
    )
    port = await start_server(creds, service)
    anonymous = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
    identified = TlsChannelCredentials(
        root_certificates=ca.cert_pem.bytes(), **_client_identity(client_cert)
    )
    assert (await _unary(port, anonymous)).message == "tls"
    assert (await _unary(port, identified)).message == "tls"
    assert service.seen[0][0] == {"transport_security_type": "ssl"}
    assert service.seen[1][0]["x509_common_name"] == "client one"


async def test_insecure_server_reports_insecure_auth_context(make_service) -> None:
    service = make_service()
    server = plugrpc.Server([service])
    port = await server.start("127.0.0.1:0")
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            await echo_plugrpc.EchoStub(channel).Unary(echo_pb2.EchoRequest(), timeout=5)
    finally:
        await server.stop(0.5)
    assert service.seen[0][0] == {"transport_security_type": "insecure"}


# -- ALPN ------------------------------------------------------------------------------------


async def test_server_without_alpn_h2_is_refused_by_the_client(ca, server_cert) -> None:
    accepted: list[str] = []
    for alpn in (None, ["http/1.1"]):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_cert.configure_cert(context)
        if alpn:
            context.set_alpn_protocols(alpn)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append("tls")
            await reader.read(100)
            writer.close()

        raw = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        port = raw.sockets[0].getsockname()[1]
        try:
            error = await _unary_error(
                port, TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
            )
        finally:
            raw.close()
        assert error.code() == StatusCode.UNAVAILABLE
        assert "ALPN" in error.details() and "'h2'" in error.details()
    assert accepted  # the handshakes completed: the refusal is ALPN's, not TLS's


async def test_client_without_alpn_h2_is_closed_by_the_server(
    ca, server_cert, start_server, caplog
) -> None:
    port = await start_server(_server_creds(server_cert))
    for alpn in (None, ["http/1.1"]):
        context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        if alpn:
            context.set_alpn_protocols(alpn)
        with caplog.at_level(logging.WARNING, logger="plugrpc.transport"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="localhost"
            )
            writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            # Nothing HTTP/2 comes back (no SETTINGS): the server just closes.
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
    messages = [r.getMessage() for r in caplog.records if "ALPN" in r.getMessage()]
    assert len(messages) == 2 and all("'h2'" in m for m in messages)


# -- reloading from files ---------------------------------------------------------------------


def _write(path: Path, data: bytes, tick: list[int]) -> None:
    path.write_bytes(data)
    # A distinct mtime per rewrite, even on file systems with coarse timestamps.
    tick[0] += 1
    stamp = (1_700_000_000 + tick[0]) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


async def _peer_certificate(port: int, cafile: Path) -> bytes:
    """The server's leaf certificate as a new TLS connection sees it (DER)."""
    context = ssl.create_default_context(cafile=str(cafile))
    context.set_alpn_protocols(["h2"])
    _reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return bytes(der)


def _der(cert: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


async def test_certificates_reload_from_files_without_restart(
    tmp_path, caplog, make_service
) -> None:
    tick = [0]
    ca1, ca2 = trustme.CA(), trustme.CA()
    cert1, cert2 = (
        ca1.issue_cert("localhost", "127.0.0.1"),
        ca2.issue_cert("localhost", "127.0.0.1"),
    )
    client1 = ca1.issue_cert("client.example", common_name="client v1")
    client2 = ca2.issue_cert("client.example", common_name="client v2")
    files = {
        name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca", "ccert", "ckey", "cca")
    }

    def install(server: trustme.LeafCert, client: trustme.LeafCert, ca: trustme.CA) -> None:
        _write(files["cert"], server.cert_chain_pems[0].bytes(), tick)
        _write(files["key"], server.private_key_pem.bytes(), tick)
        _write(files["ca"], ca.cert_pem.bytes(), tick)  # the CA client certificates need
        _write(files["ccert"], client.cert_chain_pems[0].bytes(), tick)
        _write(files["ckey"], client.private_key_pem.bytes(), tick)
        _write(files["cca"], ca.cert_pem.bytes(), tick)  # the CA the client trusts

    install(cert1, client1, ca1)
    service = make_service()
    server = plugrpc.Server(
        [service],
        credentials=TlsServerCredentials(
            cert_file=str(files["cert"]),
            key_file=str(files["key"]),
            ca_file=str(files["ca"]),
            client_auth="required",
        ),
    )
    port = await server.start("127.0.0.1:0")
    creds = TlsChannelCredentials(
        ca_file=str(files["cca"]), cert_file=str(files["ccert"]), key_file=str(files["ckey"])
    )
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}", credentials=creds) as old_channel:
            stub = echo_plugrpc.EchoStub(old_channel)
            await stub.Unary(echo_pb2.EchoRequest(), timeout=5)
            assert await _peer_certificate(port, files["cca"]) == _der(cert1)

            # Rotate everything to a new CA: only a client and a server that both re-read
            # their files can still talk to each other.
            install(cert2, client2, ca2)
            assert await _peer_certificate(port, files["cca"]) == _der(cert2)
            assert (await _unary(port, creds)).message == "tls"
            assert service.seen[-1][0]["x509_common_name"] == "client v2"
            # The open connection keeps the material it was made with.
            await stub.Unary(echo_pb2.EchoRequest(), timeout=5)
            assert service.seen[-1][0]["x509_common_name"] == "client v1"

            # A broken rotation (a key that does not match) keeps the last good material.
            with caplog.at_level(logging.WARNING, logger="plugrpc.credentials.tls"):
                _write(files["key"], cert1.private_key_pem.bytes(), tick)
                _write(files["ckey"], b"-----BEGIN PRIVATE KEY-----\ngarbage\n", tick)
                assert await _peer_certificate(port, files["cca"]) == _der(cert2)
                assert (await _unary(port, creds)).message == "tls"
            warnings = [
                r.getMessage() for r in caplog.records if "could not reload" in r.getMessage()
            ]
            assert len(warnings) == 2
    finally:
        await server.stop(0.5)


# -- grpcio as the peer ----------------------------------------------------------------------


class GrpcioEcho(echo_pb2_grpc.EchoServicer):
    def Unary(self, request: echo_pb2.EchoRequest, context: grpc.ServicerContext) -> Any:
        auth = context.auth_context()
        names = auth.get("x509_common_name", [b""])
        return echo_pb2.EchoResponse(message=f"{request.message}|{names[0].decode()}")


@pytest.fixture
def grpcio_tls_server(ca, server_cert) -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    echo_pb2_grpc.add_EchoServicer_to_server(GrpcioEcho(), server)
    credentials = grpc.ssl_server_credentials(
        [(server_cert.private_key_pem.bytes(), server_cert.cert_chain_pems[0].bytes())],
        root_certificates=ca.cert_pem.bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)


async def test_plugrpc_client_against_grpcio_tls_server(ca, client_cert, grpcio_tls_server) -> None:
    creds = TlsChannelCredentials(
        root_certificates=ca.cert_pem.bytes(),
        server_hostname_override="localhost",
        **_client_identity(client_cert),
    )
    reply = await _unary(grpcio_tls_server, creds)
    assert reply.message == "tls|client one"


async def test_grpcio_client_against_plugrpc_tls_server(
    ca, server_cert, client_cert, start_server, make_service
) -> None:
    service = make_service()
    creds = _server_creds(
        server_cert, root_certificates=ca.cert_pem.bytes(), client_auth="required"
    )
    port = await start_server(creds, service)

    def run() -> str:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca.cert_pem.bytes(),
            private_key=client_cert.private_key_pem.bytes(),
            certificate_chain=client_cert.cert_chain_pems[0].bytes(),
        )
        options = [("grpc.ssl_target_name_override", "localhost")]
        with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
            stub = echo_pb2_grpc.EchoStub(channel)
            return str(stub.Unary(echo_pb2.EchoRequest(message="from grpcio"), timeout=10).message)

    assert await asyncio.to_thread(run) == "from grpcio"
    [(auth, authority)] = service.seen
    assert auth["x509_common_name"] == "client one"
    assert authority == "localhost"
