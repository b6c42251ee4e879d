"""plugrpc: gRPC for Python, written in Python.

The names most programs need: ``Channel`` and ``Server``, the status vocabulary
(``StatusCode``, ``RpcError``, ``Metadata``), the typed call protocols that generated stubs use,
and the interceptor base classes.
"""

from __future__ import annotations

from plugrpc_core import (
    CallCredentials,
    CallCredentialsInfo,
    ClientCallDetails,
    ClientInterceptor,
    ConnectivityState,
    HandlerCallDetails,
    Metadata,
    MetadataLike,
    MethodHandler,
    MethodKind,
    RpcError,
    ServerInterceptor,
    StatusCode,
)
from plugrpc_transport import TransportOptions

from ._backoff import BackoffConfig
from ._channel import Channel
from ._context import AbortError
from ._descriptors import MethodDescriptor, ServiceDescriptor
from ._insecure import InsecureChannelCredentials, InsecureServerCredentials
from ._server import GenericHandler, Server, method_handlers_generic_handler
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
from ._workers import ServerProcesses, run, serve_in_processes, start_server_processes

__version__ = "0.1.0"

__all__ = [
    "AbortError",
    "BackoffConfig",
    "Call",
    "CallCredentials",
    "CallCredentialsInfo",
    "Channel",
    "ClientCallDetails",
    "ClientInterceptor",
    "ConnectivityState",
    "GenericHandler",
    "HandlerCallDetails",
    "InsecureChannelCredentials",
    "InsecureServerCredentials",
    "Metadata",
    "MetadataLike",
    "MethodDescriptor",
    "MethodHandler",
    "MethodKind",
    "RpcError",
    "Server",
    "ServerInterceptor",
    "ServerProcesses",
    "ServiceDescriptor",
    "ServicerContext",
    "StatusCode",
    "StreamStreamCall",
    "StreamStreamMethod",
    "StreamUnaryCall",
    "StreamUnaryMethod",
    "TransportOptions",
    "UnaryStreamCall",
    "UnaryStreamMethod",
    "UnaryUnaryCall",
    "UnaryUnaryMethod",
    "method_handlers_generic_handler",
    "run",
    "serve_in_processes",
    "start_server_processes",
]
