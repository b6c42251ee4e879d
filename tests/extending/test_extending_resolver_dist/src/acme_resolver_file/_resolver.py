"""``acme-file:///path/to/backends.json``: addresses (and a service config) from a file.

The file holds ``{"addresses": ["host:port", "[v6]:port", ...], "serviceConfig": {...}}``
(``serviceConfig`` optional). The resolver publishes it at ``start``, reads it again on
``resolve_now`` and whenever its modification time changes (checked every ``poll_interval``
seconds), and stops its task on ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import TYPE_CHECKING, Any, ClassVar

from plugrpc_core import (
    Address,
    Resolver,
    ResolverState,
    ServiceConfigError,
    parse_service_config,
)

if TYPE_CHECKING:
    from plugrpc_core import ResolverListener, ResolverOptions, Target


def _address(text: Any, default_port: int) -> Address:
    if not isinstance(text, str) or not text:
        raise ValueError(f"an address must be a non-empty string, got {text!r}")
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:  # host:port
        host, _, port = text.partition(":")
    else:  # host, or an IPv6 address without a port
        host, port = text, ""
    if port and not port.isdigit():
        raise ValueError(f"bad port in {text!r}")
    return Address(host=host, port=int(port) if port else default_port)


class FileResolver(Resolver):
    """Addresses listed in a JSON file; see the module docstring."""

    scheme = "acme-file"
    #: How often the file's modification time is checked.
    poll_interval: ClassVar[float] = 1.0

    def __init__(self, target: Target, listener: ResolverListener, options: ResolverOptions):
        super().__init__(target, listener, options)
        self._path = self._file(target)
        self._stamp: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def _file(cls, target: Target) -> str:
        # "acme-file:///etc/x.json" has the endpoint "etc/x.json": the URI path without its
        # first "/". Only absolute paths are accepted, so the file never depends on the cwd.
        if target.authority:
            raise ValueError(
                f"invalid target {target.raw!r}: {cls.scheme} takes no authority; "
                f"write '{cls.scheme}:///absolute/path.json'"
            )
        if not target.raw.startswith(f"{cls.scheme}:///") or not target.endpoint:
            raise ValueError(
                f"invalid target {target.raw!r}: write '{cls.scheme}:///absolute/path.json'"
            )
        return "/" + target.endpoint

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Called when the channel is built: reject what can never work."""
        cls._file(target)

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """A file names no server: calls carry ``localhost`` unless the channel sets one."""
        return "localhost"

    def start(self) -> None:
        """Publish the file now and watch it from a task on the channel's loop."""
        self._read()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def resolve_now(self) -> None:
        """A connection failed: read the file again."""
        if not self._closed:
            self._read()

    def close(self) -> None:
        """Stop watching; no listener call afterwards."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.poll_interval)
            with contextlib.suppress(OSError):
                if os.stat(self._path).st_mtime_ns != self._stamp:
                    self._read()

    def _read(self) -> None:
        try:
            self._stamp = os.stat(self._path).st_mtime_ns
            with open(self._path, encoding="utf-8") as f:
                doc = json.load(f)
            addresses = tuple(
                _address(text, self.options.default_port) for text in doc["addresses"]
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.listener.report_error(f"acme-file: cannot use {self._path}: {exc!r}")
            return
        config, config_error = None, None
        if doc.get("serviceConfig") is not None and not self.options.disable_service_config:
            try:
                config = parse_service_config(doc["serviceConfig"])
            except ServiceConfigError as exc:
                config_error = str(exc)  # the channel keeps its last good config (gRFC A21)
        self.listener.update_state(
            ResolverState(
                addresses=addresses, service_config=config, service_config_error=config_error
            )
        )
