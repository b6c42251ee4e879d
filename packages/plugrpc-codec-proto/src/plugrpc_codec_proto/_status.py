"""Rich error details: the ``google.rpc.Status`` carried in ``grpc-status-details-bin``.

A server that wants to say more than a code and a message sends a serialized
``google.rpc.Status`` (code, message, and ``google.protobuf.Any`` details such as
``google.rpc.BadRequest``) in the ``grpc-status-details-bin`` trailer (gRPC's error model,
https://grpc.io/docs/guides/error/). plugrpc keeps those bytes raw on ``RpcError`` so that
the core needs no protobuf; this module builds and reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

# googleapis-common-protos ships .pyi files but no py.typed marker; with
# googleapis-common-protos-stubs installed the import is typed and the ignore is unused.
from google.rpc import status_pb2  # type: ignore[import-untyped, unused-ignore]
from plugrpc_core import StatusCode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf.message import Message
    from plugrpc_core import RpcError

__all__ = ["rich_status", "status_details_bin"]


def status_details_bin(
    code: StatusCode | int, message: str = "", details: Iterable[Message] = ()
) -> bytes:
    """Build the ``grpc-status-details-bin`` value for a failed call.

    Pass the result to ``context.abort(code, message, status_details_bin=...)`` with the same
    code: a client drops details whose code differs from the call's status (grpc-go turns
    such a call into INTERNAL).

    Args:
        code: the status code; must not be OK (an OK call carries no error details).
        message: the developer-facing message, normally the same as the call's details.
        details: messages to attach (``google.rpc.BadRequest``, ``ErrorInfo``, your own);
            each is packed into a ``google.protobuf.Any``, except one that already is an
            ``Any``, which is kept as it is.

    Returns:
        A serialized ``google.rpc.Status``.

    Raises:
        ValueError: ``code`` is OK or not a status code.
    """
    code = StatusCode(code)
    if code is StatusCode.OK:
        raise ValueError("rich error details need a status code other than OK")
    status = status_pb2.Status(code=int(code), message=message)
    for detail in details:
        if isinstance(detail, any_pb2.Any):
            status.details.append(detail)
        else:
            status.details.add().Pack(detail)
    data: bytes = status.SerializeToString()
    return data


def rich_status(error: RpcError) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` a server attached to ``error``, if any.

    Follows grpc-go's client: details that are absent or do not parse are ignored, and so
    are details whose code differs from the call's status (grpc-go reports such a call as
    INTERNAL and drops them). Unpack each of ``status.details`` with ``Any.Unpack`` or
    ``Any.Is``.

    Args:
        error: a failed call's error.

    Returns:
        The decoded status, or None if the server sent none usable.
    """
    data = error.status_details_bin()
    if not data:
        return None
    try:
        status = status_pb2.Status.FromString(data)
    except DecodeError:
        return None
    if status.code != error.code():
        return None
    return status
