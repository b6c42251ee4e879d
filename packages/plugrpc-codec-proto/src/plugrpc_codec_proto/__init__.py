"""plugrpc-codec-proto: the protobuf codec and rich error details for plugrpc.

Installing the distribution registers ``ProtoCodec`` under the key ``proto`` (the
``application/grpc`` and ``application/grpc+proto`` content types) through the ``plugrpc``
entry-point group.
"""

from __future__ import annotations

from ._codec import ProtoCodec
from ._status import rich_status, status_details_bin

__version__ = "0.1.0"

__all__ = ["ProtoCodec", "rich_status", "status_details_bin"]
