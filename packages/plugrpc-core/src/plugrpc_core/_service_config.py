"""Service config model (placeholder filled in by the service-config work)."""

from __future__ import annotations

__all__ = ["ServiceConfig"]


class ServiceConfig:
    """A parsed service config."""
