"""plugrpc-credentials-tls: TLS for plugrpc channels and servers.

``TlsChannelCredentials`` and ``TlsServerCredentials`` (both registered as ``tls``): ALPN
``h2`` required on both sides, TLS 1.2 or newer, mutual TLS, a server-name override, your own
``ssl.SSLContext`` if you have one, and certificates re-read from their files when they
change, without a restart.
"""

from __future__ import annotations

from ._channel import TlsChannelCredentials
from ._server import ClientAuth, TlsServerCredentials

__version__ = "0.1.0"

__all__ = ["ClientAuth", "TlsChannelCredentials", "TlsServerCredentials"]
