"""The entry point's target: hands plugrpc the resolver class (builds nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._resolver import FileResolver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Resolver


@hookimpl
def plugrpc_register_resolvers() -> Sequence[type[Resolver]]:
    """The scheme ``acme-file``."""
    return [FileResolver]
