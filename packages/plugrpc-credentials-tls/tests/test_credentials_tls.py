"""plugrpc-credentials-tls without the call layer: the contexts it builds, over real TLS.

Each handshake here runs over loopback between the contexts the credentials hand out (the
same ones plugrpc's transport uses), with trustme certificates.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from plugrpc_core import ChannelCredentials, ServerCredentials
from plugrpc_core.plugins import channel_credentials, server_credentials
from plugrpc_credentials_tls import TlsChannelCredentials, TlsServerCredentials


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture(scope="module")
def client_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("client.example", common_name="client")


def _pem(cert: trustme.LeafCert) -> dict[str, bytes]:
    return {
        "certificate_chain": cert.cert_chain_pems[0].bytes(),
        "private_key": cert.private_key_pem.bytes(),
    }


def _der(cert: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


class Handshake:
    """The outcome of one TLS handshake, seen from both ends."""

    def __init__(self) -> None:
        self.alpn: str | None = None
        self.version: str | None = None
        self.server_cert: bytes | None = None
        self.client_cert: dict[str, Any] | None = None


@pytest.fixture
async def tls_server() -> AsyncIterator[Any]:
    servers: list[asyncio.Server] = []

    async def start(context: ssl.SSLContext, seen: list[dict[str, Any] | None]) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("peercert") or None)
            writer.write(b"ok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


async def _handshake(
    port: int, context: ssl.SSLContext, server_hostname: str | None = "localhost"
) -> Handshake:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_hostname),
        10,
    )
    result = Handshake()
    ssl_object = writer.get_extra_info("ssl_object")
    result.alpn = ssl_object.selected_alpn_protocol()
    result.version = ssl_object.version()
    result.server_cert = ssl_object.getpeercert(binary_form=True)
    await reader.read()
    writer.close()
    return result


def test_registered_as_tls() -> None:
    assert channel_credentials.get("tls") is TlsChannelCredentials
    assert server_credentials.get("tls") is TlsServerCredentials
    assert issubclass(TlsChannelCredentials, ChannelCredentials)
    assert issubclass(TlsServerCredentials, ServerCredentials)


async def test_handshake_negotiates_h2_with_tls12_or_newer(ca, server_cert, tls_server) -> None:
    seen: list[Any] = []
    server = TlsServerCredentials(**_pem(server_cert))
    port = await tls_server(server.server_ssl_context(), seen)
    client = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
    context = client.client_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    result = await _handshake(port, context)
    assert result.alpn == "h2"
    assert result.version in ("TLSv1.2", "TLSv1.3")
    assert result.server_cert == _der(server_cert)
    assert seen == [None]  # no client certificate asked for


async def test_tls_1_1_is_refused(ca, server_cert, tls_server) -> None:
    port = await tls_server(TlsServerCredentials(**_pem(server_cert)).server_ssl_context(), [])
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(old)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await _handshake(port, old)


@pytest.mark.parametrize("mode", ["optional", "required"])
async def test_client_certificates(ca, server_cert, client_cert, tls_server, mode: str) -> None:
    seen: list[Any] = []
    server = TlsServerCredentials(
        **_pem(server_cert), root_certificates=ca.cert_pem.bytes(), client_auth=mode
    )
    port = await tls_server(server.server_ssl_context(), seen)
    mutual = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes(), **_pem(client_cert))
    assert (await _handshake(port, mutual.client_ssl_context())).alpn == "h2"
    assert seen[0] is not None and ((("commonName", "client"),)) in seen[0]["subject"]
    anonymous = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
    if mode == "optional":
        await _handshake(port, anonymous.client_ssl_context())
        assert seen[1] is None
    else:
        # TLS 1.3 finishes the client's side of the handshake first; the refusal shows as
        # an error or as the server hanging up without a word.
        try:
            await _handshake(port, anonymous.client_ssl_context())
        except (ssl.SSLError, ConnectionError):
            pass
        assert len(seen) == 1


async def test_key_material_without_memfd(ca, server_cert, tls_server, monkeypatch) -> None:
    # Platforms without memfd_create get the PEM through a private temporary directory.
    monkeypatch.delattr(os, "memfd_create", raising=False)
    server = TlsServerCredentials(**_pem(server_cert))
    port = await tls_server(server.server_ssl_context(), [])
    client = TlsChannelCredentials(root_certificates=ca.cert_pem.bytes())
    assert (await _handshake(port, client.client_ssl_context())).alpn == "h2"


async def test_user_contexts_are_used_as_given_with_h2_added(ca, server_cert, tls_server) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(server_context)
    server = TlsServerCredentials(ssl_context=server_context)
    assert server.server_ssl_context() is server_context
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client_context)
    client = TlsChannelCredentials(ssl_context=client_context, server_hostname_override="localhost")
    assert client.client_ssl_context() is client_context
    port = await tls_server(server_context, [])
    assert (await _handshake(port, client_context)).alpn == "h2"


def test_server_hostname_override() -> None:
    plain = TlsChannelCredentials()
    assert plain.server_hostname("example.com") == "example.com"
    assert plain.authority_override() is None
    assert plain.is_secure
    override = TlsChannelCredentials(server_hostname_override="backend.internal")
    assert override.server_hostname("10.0.0.1") == "backend.internal"
    assert override.authority_override() == "backend.internal"
    assert "backend.internal" in repr(override)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"certificate_chain": b"-----BEGIN CERTIFICATE-----"}, ValueError, "go together"),
        ({"cert_file": "/x"}, ValueError, "go together"),
        ({"root_certificates": b"not pem"}, ValueError, "not PEM"),
        ({"root_certificates": "-----BEGIN"}, TypeError, "PEM bytes"),
        ({"server_hostname_override": ""}, ValueError, "empty"),
        ({"ssl_context": "ctx"}, TypeError, "SSLContext"),
        ({"ca_file": "/nonexistent/ca.pem"}, FileNotFoundError, "No such file"),
    ],
)
def test_channel_credentials_reject_bad_arguments(kwargs, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        TlsChannelCredentials(**kwargs)
    with pytest.raises(ValueError, match="used as given"):
        TlsChannelCredentials(ssl_context=ssl.create_default_context(), ca_file="/x")


def test_server_credentials_reject_bad_arguments(server_cert) -> None:
    with pytest.raises(ValueError, match="needs its certificate"):
        TlsServerCredentials()
    with pytest.raises(ValueError, match="client_auth must be"):
        TlsServerCredentials(**_pem(server_cert), client_auth="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="root_certificates or ca_file"):
        TlsServerCredentials(**_pem(server_cert), client_auth="required")
    with pytest.raises(ValueError, match="not both"):
        TlsServerCredentials(**_pem(server_cert), cert_file="/a", key_file="/b")
    with pytest.raises(ValueError, match="used as given"):
        TlsServerCredentials(ssl_context=ssl.create_default_context(), client_auth="required")
    other = trustme.CA().issue_cert("x")
    with pytest.raises(ssl.SSLError):  # a key that does not belong to the certificate
        TlsServerCredentials(
            certificate_chain=server_cert.cert_chain_pems[0].bytes(),
            private_key=other.private_key_pem.bytes(),
        )


# -- reloading --------------------------------------------------------------------------------


class Files:
    """PEM files whose every rewrite gets a distinct mtime (coarse file systems too)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tick = 0

    def path(self, name: str) -> str:
        return str(self.root / name)

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.write_bytes(data)
        self.tick += 1
        stamp = (1_600_000_000 + self.tick) * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))

    def install(self, cert: trustme.LeafCert, ca: trustme.CA) -> None:
        self.write("cert.pem", cert.cert_chain_pems[0].bytes())
        self.write("key.pem", cert.private_key_pem.bytes())
        self.write("ca.pem", ca.cert_pem.bytes())


async def test_server_reloads_per_handshake_with_and_without_sni(tmp_path, tls_server) -> None:
    files = Files(tmp_path)
    ca = trustme.CA()
    first, second = ca.issue_cert("localhost", "127.0.0.1"), ca.issue_cert("localhost", "127.0.0.1")
    files.install(first, ca)
    server = TlsServerCredentials(cert_file=files.path("cert.pem"), key_file=files.path("key.pem"))
    front = server.server_ssl_context()
    port = await tls_server(front, [])
    client = TlsChannelCredentials(ca_file=files.path("ca.pem"))
    no_sni = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    no_sni.check_hostname = False
    no_sni.verify_mode = ssl.CERT_NONE
    no_sni.set_alpn_protocols(["h2"])

    assert (await _handshake(port, client.client_ssl_context())).server_cert == _der(first)
    files.install(second, ca)
    assert server.server_ssl_context() is front  # the listener keeps its context ...
    result = await _handshake(port, client.client_ssl_context())
    assert result.server_cert == _der(second)  # ... and new handshakes get the new files
    assert result.alpn == "h2"
    files.install(first, ca)
    assert (await _handshake(port, no_sni, server_hostname=None)).server_cert == _der(first)


def test_client_reloads_only_when_files_change(tmp_path, caplog) -> None:
    files = Files(tmp_path)
    ca = trustme.CA()
    leaf = ca.issue_cert("client.example")
    files.install(leaf, ca)
    creds = TlsChannelCredentials(
        ca_file=files.path("ca.pem"),
        cert_file=files.path("cert.pem"),
        key_file=files.path("key.pem"),
    )
    first = creds.client_ssl_context()
    assert creds.client_ssl_context() is first  # nothing changed: the same context
    files.install(ca.issue_cert("client.example"), ca)
    second = creds.client_ssl_context()
    assert second is not first
    assert creds.client_ssl_context() is second
    # A half-done rotation keeps the last good context and says so, once.
    with caplog.at_level(logging.WARNING, logger="plugrpc.credentials.tls"):
        files.write("key.pem", trustme.CA().issue_cert("x").private_key_pem.bytes())
        assert creds.client_ssl_context() is second
        assert creds.client_ssl_context() is second
        os.unlink(files.path("ca.pem"))
        assert creds.client_ssl_context() is second
    warnings = [r for r in caplog.records if "could not reload" in r.getMessage()]
    assert len(warnings) == 2
    # The rotation completes: the next connection gets it.
    files.install(ca.issue_cert("client.example"), ca)
    assert creds.client_ssl_context() not in (first, second)
