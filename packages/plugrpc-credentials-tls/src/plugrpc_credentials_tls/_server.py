"""``TlsServerCredentials``: TLS for the connections a server accepts.

Reloading without a restart: a listener takes one ``ssl.SSLContext`` when it starts, so the
context handed out here is a front whose SNI callback runs early in every handshake (OpenSSL
calls it for each ClientHello, with ``None`` when the client sent no server name). It asks
the ``ReloadingContext`` for the current context and, when the files changed since the
front was built, swaps it into the connection (``SSLObject.context``). OpenSSL then uses the
new context's certificate, key and trusted CAs for that handshake, and its ALPN callback,
which every context built here has. The verification mode is fixed per credentials object,
so it is the same in the front and in every rebuilt context.
"""

from __future__ import annotations

import ssl
from typing import Literal

from plugrpc_core import ServerCredentials

from ._material import (
    ReloadingContext,
    check_pem,
    h2_tls_defaults,
    load_cert_chain_bytes,
    load_verify,
)

__all__ = ["ClientAuth", "TlsServerCredentials"]

ClientAuth = Literal["none", "optional", "required"]

_VERIFY_MODES: dict[str, ssl.VerifyMode] = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


class TlsServerCredentials(ServerCredentials):
    """TLS for a server, with ALPN ``h2`` required and optional client certificates.

    Give the server's certificate chain and key as PEM bytes, as files, or inside an
    ``ssl_context`` of your own. Files (the CA file included) are re-read when they change:
    every new connection checks them, so rotated certificates need no restart.

    Args:
        certificate_chain: the server's PEM certificate chain.
        private_key: the server's PEM private key.
        cert_file: the server's certificate chain as a file (reloaded when it changes).
        key_file: the server's private key as a file.
        root_certificates: PEM CA certificates that client certificates must chain to.
        ca_file: the same as a file (reloaded when it changes).
        client_auth: ``"none"`` (no client certificate asked for), ``"optional"`` (verified
            if presented) or ``"required"`` (mutual TLS: the handshake fails without one).
        ssl_context: a context of your own, used as given (no other material with it);
            ALPN ``h2`` is set on it.

    Raises:
        ValueError, TypeError: inconsistent arguments or unreadable PEM.
        OSError, ssl.SSLError: a file cannot be read, or the key does not match the
            certificate.
    """

    name = "tls"

    def __init__(
        self,
        *,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        root_certificates: bytes | None = None,
        ca_file: str | None = None,
        client_auth: ClientAuth = "none",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        verify_mode = _VERIFY_MODES.get(client_auth)
        if verify_mode is None:
            raise ValueError(
                f"client_auth must be 'none', 'optional' or 'required', got {client_auth!r}"
            )
        self.client_auth: ClientAuth = client_auth
        material = (certificate_chain, private_key, cert_file, key_file, root_certificates, ca_file)
        if ssl_context is not None:
            if any(item is not None for item in material) or client_auth != "none":
                raise ValueError(
                    "ssl_context is used as given: set certificates, CAs and verify_mode in it, "
                    "not as arguments"
                )
            if not isinstance(ssl_context, ssl.SSLContext):
                raise TypeError(f"ssl_context must be an ssl.SSLContext, not {ssl_context!r}")
            ssl_context.set_alpn_protocols(["h2"])
            self._source = ReloadingContext(lambda: ssl_context, ())
            self._front = ssl_context
            return
        if (certificate_chain is None) != (private_key is None):
            raise ValueError("certificate_chain and private_key go together")
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file go together")
        if certificate_chain is None and cert_file is None:
            raise ValueError(
                "a TLS server needs its certificate: certificate_chain and private_key, "
                "cert_file and key_file, or ssl_context"
            )
        if certificate_chain is not None and cert_file is not None:
            raise ValueError("give the server certificate as bytes or as files, not both")
        cadata = (
            check_pem(root_certificates, "root_certificates")
            if root_certificates is not None
            else None
        )
        if client_auth != "none" and cadata is None and ca_file is None:
            raise ValueError(
                f"client_auth={client_auth!r} needs the CA certificates that client "
                "certificates must chain to: root_certificates or ca_file"
            )
        chain = (
            check_pem(certificate_chain, "certificate_chain")
            if certificate_chain is not None
            else None
        )
        key = check_pem(private_key, "private_key") if private_key is not None else None

        def build() -> ssl.SSLContext:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            h2_tls_defaults(context)
            if chain is not None and key is not None:
                load_cert_chain_bytes(context, chain, key)
            else:
                assert cert_file is not None
                context.load_cert_chain(cert_file, key_file)
            if client_auth != "none":
                load_verify(context, cadata=cadata, cafile=ca_file)
            context.verify_mode = verify_mode
            context.sni_callback = self._on_client_hello
            return context

        files = [path for path in (cert_file, key_file, ca_file) if path is not None]
        self._source = ReloadingContext(build, files)
        self._front = self._source.current()

    def server_ssl_context(self) -> ssl.SSLContext:
        """The context a listener starts with; it swaps in reloaded material per handshake."""
        return self._front

    def _on_client_hello(
        self, ssl_object: ssl.SSLObject | ssl.SSLSocket, _server_name: str | None, _ctx: object
    ) -> None:
        current = self._source.current()
        if current is not ssl_object.context:
            ssl_object.context = current

    def __repr__(self) -> str:
        return (
            f"TlsServerCredentials(client_auth={self.client_auth!r}, "
            f"reloads={self._source.reloads})"
        )
