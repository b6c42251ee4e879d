"""The entry point of plugrpc-orca: registers ``OrcaServerInterceptor`` as ``orca``.

Registration never turns it on; a server enables it by passing an instance (with its
``ServerMetricsRecorder``) in ``interceptors``, or by name where servers accept names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._interceptor import OrcaServerInterceptor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import ClientInterceptor, ServerInterceptor

__all__ = ["plugrpc_register_interceptors"]


@hookimpl
def plugrpc_register_interceptors() -> Sequence[type[ClientInterceptor | ServerInterceptor]]:
    """``orca``: per-call ORCA load reports in the ``endpoint-load-metrics-bin`` trailer."""
    return [OrcaServerInterceptor]
