"""plugrpc-compress-deflate: the ``deflate`` compressor for plugrpc.

Installing the distribution registers ``DeflateCompressor`` under the key ``deflate`` (entry
point ``compress-deflate`` in the ``plugrpc`` group). Pass an instance in a channel's or
server's ``compressors=`` option to choose its level.
"""

from __future__ import annotations

from ._compressor import DeflateCompressor

__version__ = "0.1.0"

__all__ = ["DeflateCompressor"]
