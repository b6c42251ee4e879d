"""TLS: ALPN ``h2``, the client's certificate as seen by the server, and ALPN mismatch.

Certificates come from the ``openssl`` command line (a throwaway CA, a server and a client
certificate), made once per module.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from plugrpc_core import Address, StatusCode
from plugrpc_transport import ConnectionFailed, connect, serve
from plugrpc_transport.protocol import RequestHead

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"), "-subj", "/CN=plugrpc test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign",
    )  # fmt: skip
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:client")):
        _run(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"),
            "-out", str(d / f"{name}.csr"), "-subj", f"/CN={name}",
        )  # fmt: skip
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        _run(
            "x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-out", str(d / f"{name}.pem"), "-extfile", str(d / f"{name}.ext"),
        )  # fmt: skip
    return d


def _server_context(pki: Path, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(alpn)
    return ctx


def _client_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    ctx.set_alpn_protocols(["h2"])
    return ctx


async def test_tls_unary_with_client_certificate(pki, echo_service):
    listener = await serve(echo_service, host="127.0.0.1", ssl=_server_context(pki, ["h2"]))
    try:
        conn = await connect(
            Address(host="127.0.0.1", port=listener.port),
            ssl=_client_context(pki),
            server_hostname="localhost",
        )
        stream = conn.start_stream(RequestHead(path="/test.Echo/Echo", authority="localhost"))
        await stream.send_message(b"secret", end=True)
        assert await stream.receive_message() == (False, b"secret")
        assert await stream.receive_message() is None
        assert (await stream.receive_status()).code is StatusCode.OK
        conn.close()
    finally:
        await listener.close()


async def test_tls_peer_certificate_reaches_the_handler(pki):
    seen = []

    def handler(stream):
        seen.append(stream.peer_certificate)
        stream.cancel()
        stream.handler_done()

    listener = await serve(handler, host="127.0.0.1", ssl=_server_context(pki, ["h2"]))
    try:
        conn = await connect(
            Address(host="127.0.0.1", port=listener.port),
            ssl=_client_context(pki),
            server_hostname="localhost",
        )
        stream = conn.start_stream(RequestHead(path="/test.Echo/Echo", authority="localhost"))
        await stream.send_end()
        await stream.receive_status()
        [cert] = seen
        assert cert is not None
        assert ((("commonName", "client"),)) in cert["subject"]
        conn.close()
    finally:
        await listener.close()


async def test_alpn_other_than_h2_is_refused(pki, echo_service):
    listener = await serve(echo_service, host="127.0.0.1", ssl=_server_context(pki, ["http/1.1"]))
    try:
        ctx = _client_context(pki)
        ctx.set_alpn_protocols(["http/1.1", "h2"])
        with pytest.raises(ConnectionFailed, match="ALPN"):
            await connect(
                Address(host="127.0.0.1", port=listener.port), ssl=ctx, server_hostname="localhost"
            )
    finally:
        await listener.close()
