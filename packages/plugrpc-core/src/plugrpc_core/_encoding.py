"""Plugin interfaces for message codecs and compressors (PROTOCOL-HTTP2, compression.md)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

__all__ = ["Codec", "Compressor", "MessageTooLargeError"]


class MessageTooLargeError(Exception):
    """A message, declared or inflated, is bigger than the receive limit allows."""


class Codec(abc.ABC):
    """Turns messages into bytes and back.

    ``name`` is the content-subtype (``application/grpc+<name>``) and the registry key.
    A codec instance is shared by every call of a channel or server: keep it stateless.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def encode(self, message: Any) -> bytes:
        """Serialize ``message``."""

    @abc.abstractmethod
    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        """Parse ``data`` as an instance of ``message_type``."""


class Compressor(abc.ABC):
    """Compresses single messages (a fresh context per message, as gRPC requires).

    ``name`` is the ``grpc-encoding`` token and the registry key.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def compress(self, data: bytes) -> bytes:
        """Compress one message."""

    @abc.abstractmethod
    def decompress(self, data: bytes, max_length: int) -> bytes:
        """Inflate one message, producing at most ``max_length + 1`` bytes.

        Stopping one byte past the limit lets the caller tell "exactly at the limit" from
        "over it" without inflating a compression bomb. Raise ``ValueError`` on corrupt data.
        """
