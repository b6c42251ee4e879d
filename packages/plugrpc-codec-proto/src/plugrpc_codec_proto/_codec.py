"""The ``proto`` codec: protobuf messages on the wire.

gRPC's default content-type is ``application/grpc``, which PROTOCOL-HTTP2 ("Content-Type")
defines as ``application/grpc+proto``; this codec serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, final

from plugrpc_core import Codec

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ["ProtoCodec"]


@final
class ProtoCodec(Codec):
    """Serializes protobuf messages (any ``google.protobuf.message.Message`` subclass).

    It runs once per message on every call, so it does nothing but the protobuf call: no
    type checks (a wrong type fails inside protobuf with its own message) and no copies.
    """

    name: ClassVar[str] = "proto"

    def encode(self, message: Message) -> bytes:
        """Serialize ``message`` to its wire bytes."""
        return message.SerializeToString()

    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        """Parse ``data`` as a ``message_type``.

        Raises:
            google.protobuf.message.DecodeError: ``data`` is not a valid ``message_type``.
        """
        return message_type.FromString(data)

    def __repr__(self) -> str:
        return "ProtoCodec()"
