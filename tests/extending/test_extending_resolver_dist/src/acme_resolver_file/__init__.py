"""acme-grpc-resolver-file: backend addresses from a JSON file, for plugrpc channels."""

from __future__ import annotations

from ._resolver import FileResolver

__all__ = ["FileResolver"]
