"""``TlsChannelCredentials``: TLS for a channel's connections (census 1.4, 2.1)."""

from __future__ import annotations

import ssl

from plugrpc_core import ChannelCredentials

from ._material import (
    ReloadingContext,
    check_pem,
    h2_tls_defaults,
    load_cert_chain_bytes,
    load_verify,
)

__all__ = ["TlsChannelCredentials"]


class TlsChannelCredentials(ChannelCredentials):
    """TLS for every connection of a channel, with ALPN ``h2`` required.

    The server's certificate is verified against the given CA certificates, or against the
    system's trusted roots when none are given, and must name the target's host (or
    ``server_hostname_override``). Certificates given as files are re-read when the files
    change: each new connection checks them, so rotated certificates need no restart.

    Args:
        root_certificates: PEM CA certificates to trust instead of the system roots.
        ca_file: a PEM file of CA certificates to trust (reloaded when it changes).
        certificate_chain: the client's PEM certificate chain, for mutual TLS.
        private_key: the client's PEM private key (with ``certificate_chain``).
        cert_file: the client's certificate chain as a file (reloaded when it changes).
        key_file: the client's private key as a file (with ``cert_file``).
        server_hostname_override: the name to send as SNI, to verify the server's
            certificate against, and to send as ``:authority`` instead of the target's host
            (grpc-go's ``serverNameOverride``).
        ssl_context: a context of your own, used as given (other material must not be
            passed with it); ALPN ``h2`` is set on it.

    Raises:
        ValueError, TypeError: inconsistent arguments or unreadable PEM.
        OSError, ssl.SSLError: a file cannot be read, or a key does not match its
            certificate.
    """

    name = "tls"

    def __init__(
        self,
        *,
        root_certificates: bytes | None = None,
        ca_file: str | None = None,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        server_hostname_override: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if server_hostname_override is not None and not server_hostname_override:
            raise ValueError("server_hostname_override must not be empty")
        self._override = server_hostname_override
        material = (root_certificates, ca_file, certificate_chain, private_key, cert_file, key_file)
        if ssl_context is not None:
            if any(item is not None for item in material):
                raise ValueError(
                    "ssl_context is used as given: pass certificates and keys either in it or "
                    "as arguments, not both"
                )
            if not isinstance(ssl_context, ssl.SSLContext):
                raise TypeError(f"ssl_context must be an ssl.SSLContext, not {ssl_context!r}")
            # gRPC speaks HTTP/2 only, so offering anything else could only make the
            # server pick a protocol we then refuse.
            ssl_context.set_alpn_protocols(["h2"])
            self._source = ReloadingContext(lambda: ssl_context, ())
            return
        if (certificate_chain is None) != (private_key is None):
            raise ValueError("certificate_chain and private_key go together (mutual TLS)")
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS)")
        if certificate_chain is not None and cert_file is not None:
            raise ValueError("give the client certificate as bytes or as files, not both")
        cadata = (
            check_pem(root_certificates, "root_certificates")
            if root_certificates is not None
            else None
        )
        chain = (
            check_pem(certificate_chain, "certificate_chain")
            if certificate_chain is not None
            else None
        )
        key = check_pem(private_key, "private_key") if private_key is not None else None

        def build() -> ssl.SSLContext:
            if cadata is None and ca_file is None:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)  # system roots
            else:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies name and chain
                load_verify(context, cadata=cadata, cafile=ca_file)
            h2_tls_defaults(context)
            if chain is not None and key is not None:
                load_cert_chain_bytes(context, chain, key)
            elif cert_file is not None:
                context.load_cert_chain(cert_file, key_file)
            return context

        files = [path for path in (ca_file, cert_file, key_file) if path is not None]
        self._source = ReloadingContext(build, files)

    def client_ssl_context(self) -> ssl.SSLContext:
        """The context for the next connection (rebuilt first if a watched file changed)."""
        return self._source.current()

    def server_hostname(self, authority_host: str) -> str | None:
        """The override if one was given, else the target's host."""
        return self._override if self._override is not None else authority_host

    def authority_override(self) -> str | None:
        """``server_hostname_override``: it is also the ``:authority`` of calls."""
        return self._override

    @property
    def is_secure(self) -> bool:
        """True: calls are encrypted and the server is authenticated."""
        return True

    def __repr__(self) -> str:
        extra = f", server_hostname_override={self._override!r}" if self._override else ""
        return f"TlsChannelCredentials(reloads={self._source.reloads}{extra})"
