"""plugrpc-compress-gzip: the ``gzip`` compressor for plugrpc.

Installing the distribution registers ``GzipCompressor`` under the key ``gzip`` (entry
point ``compress-gzip`` in the ``plugrpc`` group). Pass an instance in a channel's or
server's ``compressors=`` option to choose its level.
"""

from __future__ import annotations

from ._compressor import GzipCompressor

__version__ = "0.1.0"

__all__ = ["GzipCompressor"]
