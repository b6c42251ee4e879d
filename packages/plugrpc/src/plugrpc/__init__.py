"""plugrpc: gRPC for Python, written in Python."""

from __future__ import annotations

from plugrpc_core import Metadata, MetadataLike, MethodKind, RpcError, StatusCode

from ._channel import Channel
from ._descriptors import MethodDescriptor, ServiceDescriptor
from ._stub_types import (
    Call,
    ServicerContext,
    StreamStreamCall,
    StreamStreamMethod,
    StreamUnaryCall,
    StreamUnaryMethod,
    UnaryStreamCall,
    UnaryStreamMethod,
    UnaryUnaryCall,
    UnaryUnaryMethod,
)

__version__ = "0.1.0"

__all__ = [
    "Call",
    "Channel",
    "Metadata",
    "MetadataLike",
    "MethodDescriptor",
    "MethodKind",
    "RpcError",
    "ServiceDescriptor",
    "ServicerContext",
    "StatusCode",
    "StreamStreamCall",
    "StreamStreamMethod",
    "StreamUnaryCall",
    "StreamUnaryMethod",
    "UnaryStreamCall",
    "UnaryStreamMethod",
    "UnaryUnaryCall",
    "UnaryUnaryMethod",
]
