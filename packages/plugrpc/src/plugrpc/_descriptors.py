"""Service and method descriptors: what generated code hands to the server and channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugrpc_core import MethodKind

__all__ = ["MethodDescriptor", "ServiceDescriptor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodDescriptor:
    """One RPC of a service.

    Args:
        name: the method name as in the .proto (``SayHello``); also the servicer attribute.
        kind: the method kind.
        request_type: the request message class (``bytes`` for raw payloads).
        response_type: the response message class (``bytes`` for raw payloads).
    """

    name: str
    kind: MethodKind
    request_type: type[Any]
    response_type: type[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDescriptor:
    """A service: its full name (``package.Service``) and its methods, in .proto order."""

    name: str
    methods: tuple[MethodDescriptor, ...]

    def method_path(self, method: MethodDescriptor) -> str:
        """The HTTP/2 ``:path`` of ``method``: ``/package.Service/Method``."""
        return f"/{self.name}/{method.name}"
