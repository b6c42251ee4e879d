"""Per-method message encoding: codec, compression and size limits, decided once per method.

The call layer needs no protobuf: ``bytes`` request/response types bypass every codec, and any
other type goes through the codec named by the call's content-subtype (``proto`` by default),
looked up once in the codec registry and cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plugrpc_core import Compressor, RpcError, StatusCode
from plugrpc_core.plugins import codecs, compressors

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from plugrpc_core import Codec

__all__ = [
    "CompressionSet",
    "decoder_for",
    "encoder_for",
    "get_codec",
]

_codec_instances: dict[str, Codec] = {}


def get_codec(subtype: str) -> Codec:
    """The shared codec for a content-subtype (``""`` means ``proto``, as PROTOCOL-HTTP2 says)."""
    key = subtype or "proto"
    codec = _codec_instances.get(key)
    if codec is None:
        codec = codecs.get(key)()
        _codec_instances[key] = codec
    return codec


def _identity(message: Any) -> bytes:
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    raise TypeError(f"raw method expects bytes, got {type(message).__name__}")


def _raw(data: bytes) -> bytes:
    return data


def encoder_for(message_type: type[Any], subtype: str) -> Callable[[Any], bytes]:
    """A function turning ``message_type`` instances into bytes."""
    if message_type is bytes:
        return _identity
    return get_codec(subtype).encode


def decoder_for(message_type: type[Any], subtype: str) -> Callable[[bytes], Any]:
    """A function turning bytes into ``message_type`` instances."""
    if message_type is bytes:
        return _raw
    codec = get_codec(subtype)
    decode = codec.decode

    def _decode(data: bytes) -> Any:
        return decode(data, message_type)

    return _decode


class CompressionSet:
    """The compressors a channel or server may use, with instances cached by name.

    Args:
        overrides: compressor instances that replace the registry's default instance for
            their name (this is how a level is chosen); a name no plugin registers is added.

    Raises:
        TypeError: an override is not a ``Compressor``.
        ValueError: two overrides share a name, or one is named ``identity``.
    """

    __slots__ = ("_instances", "accept_encoding")

    def __init__(self, overrides: Sequence[Compressor] = ()) -> None:
        self._instances: dict[str, Compressor] = {}
        for compressor in overrides:
            if not isinstance(compressor, Compressor):
                raise TypeError(f"not a Compressor instance: {compressor!r}")
            name = compressor.name
            if name == "identity":
                raise ValueError("'identity' means no compression; it needs no compressor")
            if name in self._instances:
                raise ValueError(f"two compressors named {name!r} were given")
            self._instances[name] = compressor
        names = [k for k in compressors.keys() if k != "identity"]
        names += [name for name in self._instances if name not in names]
        # grpc-accept-encoding lists what we can inflate (compression.md); identity is implied.
        self.accept_encoding: str | None = ",".join(names) if names else None

    @staticmethod
    def accepts(name: str, accept_encoding: str | None) -> bool:
        """Whether ``name`` is listed in a peer's ``grpc-accept-encoding`` value."""
        if not accept_encoding:
            return False
        return any(token.strip() == name for token in accept_encoding.split(","))

    def get(self, name: str) -> Compressor | None:
        """The compressor registered as ``name``, or None."""
        inst = self._instances.get(name)
        if inst is None:
            cls = compressors.find(name)
            if cls is None:
                return None
            inst = cls()
            self._instances[name] = inst
        return inst

    def require(self, name: str) -> Compressor:
        """The compressor ``name``, or a clear error naming what is installed."""
        inst = self.get(name)
        if inst is None:
            compressors.get(name)  # raises PluginNotFoundError with the install hint
            raise AssertionError("unreachable")
        return inst

    def inflate(self, encoding: str | None, data: bytes, limit: int, *, server: bool) -> bytes:
        """Decompress one message flagged compressed, enforcing ``limit`` after inflation.

        Raises:
            RpcError: INTERNAL for a compressed flag with no encoding or a corrupt payload,
                UNIMPLEMENTED (server) / INTERNAL (client) for an unknown encoding (grpc-go),
                RESOURCE_EXHAUSTED when the inflated message is over ``limit``.
        """
        if encoding is None or encoding == "identity":
            raise RpcError(
                StatusCode.INTERNAL,
                "compressed flag set on a message but no grpc-encoding was given",
            )
        compressor = self.get(encoding)
        if compressor is None:
            raise RpcError(
                StatusCode.UNIMPLEMENTED if server else StatusCode.INTERNAL,
                f"grpc: Decompressor is not installed for grpc-encoding {encoding!r}",
            )
        try:
            out = compressor.decompress(data, limit)
        except ValueError as exc:
            raise RpcError(
                StatusCode.INTERNAL, f"grpc: failed to decompress the message: {exc}"
            ) from None
        if len(out) > limit:
            raise RpcError(
                StatusCode.RESOURCE_EXHAUSTED,
                f"grpc: received message after decompression larger than max ({limit})",
            )
        return out
