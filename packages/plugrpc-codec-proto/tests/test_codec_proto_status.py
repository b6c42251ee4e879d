"""Rich error details: building and reading ``grpc-status-details-bin``."""

from __future__ import annotations

import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from plugrpc_codec_proto import rich_status, status_details_bin
from plugrpc_core import RpcError, StatusCode


def _bad_request() -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="name", description="required"),
            error_details_pb2.BadRequest.FieldViolation(field="age", description="negative"),
        ]
    )


def test_round_trip_through_an_rpc_error() -> None:
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=3))
    data = status_details_bin(StatusCode.INVALID_ARGUMENT, "bad request", [_bad_request(), retry])
    error = RpcError(StatusCode.INVALID_ARGUMENT, "bad request", status_details_bin=data)

    status = rich_status(error)

    assert status is not None
    assert status.code == StatusCode.INVALID_ARGUMENT
    assert status.message == "bad request"
    assert len(status.details) == 2
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert bad_request == _bad_request()
    assert status.details[0].type_url == "type.googleapis.com/google.rpc.BadRequest"
    retry_info = error_details_pb2.RetryInfo()
    assert status.details[1].Is(retry_info.DESCRIPTOR)
    assert status.details[1].Unpack(retry_info)
    assert retry_info.retry_delay.seconds == 3


def test_details_bin_is_a_serialized_google_rpc_status() -> None:
    data = status_details_bin(StatusCode.NOT_FOUND, "no such note", [])
    assert status_pb2.Status.FromString(data) == status_pb2.Status(code=5, message="no such note")


def test_code_may_be_a_plain_int() -> None:
    data = status_details_bin(9, "precondition")
    assert status_pb2.Status.FromString(data).code == 9


def test_any_details_are_kept_as_they_are() -> None:
    packed = any_pb2.Any()
    packed.Pack(_bad_request())
    data = status_details_bin(StatusCode.INVALID_ARGUMENT, "x", [packed])
    [detail] = status_pb2.Status.FromString(data).details
    assert detail == packed  # not an Any wrapped in an Any


@pytest.mark.parametrize("code", [StatusCode.OK, 0])
def test_ok_has_no_error_details(code: int) -> None:
    with pytest.raises(ValueError, match="other than OK"):
        status_details_bin(code, "fine")


def test_unknown_code_is_rejected() -> None:
    with pytest.raises(ValueError):
        status_details_bin(42, "what")


def test_no_details_sent() -> None:
    assert rich_status(RpcError(StatusCode.INTERNAL, "boom")) is None
    assert rich_status(RpcError(StatusCode.INTERNAL, "boom", status_details_bin=b"")) is None


def test_unparseable_details_are_ignored() -> None:
    error = RpcError(StatusCode.INTERNAL, "boom", status_details_bin=b"\x0a\xff\xff")
    assert rich_status(error) is None


def test_details_with_another_code_are_ignored() -> None:
    # grpc-go turns a call whose details disagree with grpc-status into INTERNAL and drops
    # the details (grpc-go census, section 2: grpc-status-details-bin).
    data = status_details_bin(StatusCode.NOT_FOUND, "missing", [_bad_request()])
    error = RpcError(StatusCode.PERMISSION_DENIED, "denied", status_details_bin=data)
    assert rich_status(error) is None


def test_message_may_differ_from_the_call_details() -> None:
    data = status_details_bin(StatusCode.ABORTED, "rich message")
    status = rich_status(RpcError(StatusCode.ABORTED, "plain", status_details_bin=data))
    assert status is not None
    assert status.message == "rich message"
