"""The ``insecure`` credentials: plaintext HTTP/2 with prior knowledge, both sides.

They carry no security at all: call credentials that require a secure transport refuse to
run on an insecure channel (``is_secure`` is False).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core import ChannelCredentials, ServerCredentials

if TYPE_CHECKING:
    import ssl

__all__ = ["InsecureChannelCredentials", "InsecureServerCredentials"]


class InsecureChannelCredentials(ChannelCredentials):
    """No TLS: the channel speaks cleartext HTTP/2 (``http`` scheme)."""

    name = "insecure"

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """None: no TLS."""
        return None

    def server_hostname(self, authority_host: str) -> str | None:
        """None: there is no TLS handshake to name a server in."""
        return None

    @property
    def is_secure(self) -> bool:
        """False: nothing protects the calls."""
        return False

    def __repr__(self) -> str:
        return "InsecureChannelCredentials()"


class InsecureServerCredentials(ServerCredentials):
    """No TLS: the server accepts cleartext HTTP/2."""

    name = "insecure"

    def server_ssl_context(self) -> ssl.SSLContext | None:
        """None: no TLS."""
        return None

    def __repr__(self) -> str:
        return "InsecureServerCredentials()"
