"""Key material: PEM given as bytes or as files, and contexts rebuilt when the files change.

Theory of operation: a ``ReloadingContext`` owns a build function and the files it reads.
``current()`` runs once per new connection; it compares each file's ``(mtime_ns, size, inode,
device)`` with what it saw when it last built, and rebuilds the ``ssl.SSLContext`` only when
one differs (a few ``stat`` calls per connection, no reads). So certificates rotated on disk
(rewritten in place, or replaced by a rename as Kubernetes secret volumes do) apply to the
next connection without a restart, while open connections keep theirs. A rebuild that fails
(a missing file halfway through a rotation, a key that does not match its new certificate
yet) keeps the last good context and logs a warning; the next connection tries again. This
is how grpc-go's ``pemfile`` certificate provider behaves (gRFC A29), checked per connection
instead of on a timer.

Python's ``ssl`` loads certificates and keys from paths only. Material given as bytes is
handed over through an anonymous in-memory file (``memfd_create``) where the platform has
one, else through a private temporary directory removed right after loading.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "ReloadingContext",
    "check_pem",
    "h2_tls_defaults",
    "load_cert_chain_bytes",
    "load_verify",
]

_log = logging.getLogger("plugrpc.credentials.tls")

# RFC 9113, 9.2.2: TLS 1.2 connections carrying HTTP/2 use ephemeral key exchange and AEAD
# ciphers. TLS 1.3 suites are all allowed and are not affected by this string.
_H2_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"

_Stamp = tuple[int, int, int, int] | None


def h2_tls_defaults(context: ssl.SSLContext) -> None:
    """Apply what HTTP/2 asks of TLS to a context this package builds.

    TLS 1.2 or newer, AEAD cipher suites, no renegotiation (RFC 9113, 9.2), and ALPN ``h2``,
    which gRPC requires on both sides (census 2.1).
    """
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_H2_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    context.set_alpn_protocols(["h2"])


def check_pem(data: bytes, what: str) -> bytes:
    """``data`` as bytes, or a ``TypeError``/``ValueError`` naming ``what``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be PEM bytes, not {type(data).__name__}")
    data = bytes(data)
    if b"-----BEGIN" not in data:
        raise ValueError(f"{what} is not PEM data (no '-----BEGIN' line)")
    return data


def load_verify(context: ssl.SSLContext, *, cadata: bytes | None, cafile: str | None) -> None:
    """Trust the CA certificates in ``cadata`` (PEM bytes) and/or ``cafile``."""
    if cafile is not None:
        context.load_verify_locations(cafile=cafile)
    if cadata is not None:
        context.load_verify_locations(cadata=cadata.decode("ascii"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def load_cert_chain_bytes(context: ssl.SSLContext, chain: bytes, key: bytes) -> None:
    """``context.load_cert_chain`` for PEM given as bytes, without leaving the key on disk."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fds: list[int] = []
        try:
            for data, label in ((chain, "chain"), (key, "key")):
                fd = os.memfd_create(f"plugrpc-tls-{label}", os.MFD_CLOEXEC)
                fds.append(fd)
                _write_all(fd, data)
            context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="plugrpc-tls-") as directory:  # mode 0700
        paths = []
        for data, label in ((chain, "chain"), (key, "key")):
            path = os.path.join(directory, f"{label}.pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            paths.append(path)
        context.load_cert_chain(paths[0], paths[1])


def _stamp(path: str) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


class ReloadingContext:
    """An ``ssl.SSLContext`` built by ``build()``, rebuilt when one of ``files`` changes.

    Args:
        build: makes a complete context from the files' current contents.
        files: the paths ``build`` reads (empty: build once, never reload).

    Raises:
        OSError, ssl.SSLError, ValueError: the first build failed (a missing file, a key
            that does not match its certificate, bad PEM).
    """

    __slots__ = ("_build", "_context", "_files", "_stamps")

    def __init__(self, build: Callable[[], ssl.SSLContext], files: Sequence[str]) -> None:
        self._build = build
        self._files = tuple(files)
        self._stamps = self._read_stamps()
        self._context = build()

    def _read_stamps(self) -> tuple[_Stamp, ...]:
        return tuple(_stamp(path) for path in self._files)

    @property
    def reloads(self) -> bool:
        """Whether files are watched."""
        return bool(self._files)

    def current(self) -> ssl.SSLContext:
        """The context for a new connection, rebuilt first if a file changed."""
        if not self._files:
            return self._context
        stamps = self._read_stamps()
        if stamps == self._stamps:
            return self._context
        # Remember these stamps even if the build fails: a rotation still in progress
        # changes a file again, which triggers the next attempt; an unchanged broken state
        # is reported once, not once per connection.
        self._stamps = stamps
        try:
            context = self._build()
        except (OSError, ssl.SSLError, ValueError) as exc:
            _log.warning(
                "could not reload TLS material from %s (keeping the previous certificates): %s",
                ", ".join(self._files),
                exc,
            )
            return self._context
        _log.info("reloaded TLS material from %s", ", ".join(self._files))
        self._context = context
        return context
