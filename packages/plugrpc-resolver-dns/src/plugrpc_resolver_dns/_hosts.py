"""The hosts file, consulted before DNS when the system's resolver configuration is used.

dnspython speaks DNS only, but the system resolver it stands in for (glibc with the usual
``hosts: files dns`` in nsswitch.conf, Go's resolver that grpc-go uses) answers names from
``/etc/hosts`` first. Without this, ``localhost:50051`` and names a container's hosts file
defines would go to a DNS server that may not know them. The file is read again when its
size, inode or modification time changes, so edits take effect at the next lookup.

Format (hosts(5)): an IP address, then names; ``#`` starts a comment. Names match without
regard to case or a trailing dot. Lines whose address is not an IP address are skipped.
"""

from __future__ import annotations

import ipaddress
import logging
import os

__all__ = ["LOOPBACK", "HostsFile"]

_log = logging.getLogger("plugrpc.resolver.dns")

#: RFC 6761 section 6.3: ``localhost`` names resolve to loopback, never through DNS.
LOOPBACK = ("::1", "127.0.0.1")


def _key(name: str) -> str:
    return name.rstrip(".").lower()


class HostsFile:
    """A hosts file, parsed lazily and re-read when it changes.

    Args:
        path: the file (``/etc/hosts``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._table: dict[str, tuple[str, ...]] = {}

    def lookup(self, name: str) -> tuple[str, ...]:
        """The addresses listed for ``name``, in file order (empty if none or no file)."""
        self._refresh()
        return self._table.get(_key(name), ())

    def _refresh(self) -> None:
        try:
            info = os.stat(self.path)
        except OSError:
            self._stamp, self._table = None, {}
            return
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp == self._stamp:
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as exc:
            _log.debug("cannot read %s: %s", self.path, exc)
            self._stamp, self._table = None, {}
            return
        self._stamp = stamp
        self._table = parse_hosts(text)


def parse_hosts(text: str) -> dict[str, tuple[str, ...]]:
    """Map each name (lowercase, no trailing dot) to its addresses in file order."""
    table: dict[str, dict[str, None]] = {}
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0]))
        except ValueError:
            continue
        for name in fields[1:]:
            table.setdefault(_key(name), {})[address] = None
    return {name: tuple(addresses) for name, addresses in table.items()}
