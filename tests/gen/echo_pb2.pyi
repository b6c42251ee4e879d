from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class EchoRequest(_message.Message):
    __slots__ = ("message", "payload", "response_count", "response_size", "sleep_ms", "fail_code", "fail_message")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MS_FIELD_NUMBER: _ClassVar[int]
    FAIL_CODE_FIELD_NUMBER: _ClassVar[int]
    FAIL_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    payload: bytes
    response_count: int
    response_size: int
    sleep_ms: int
    fail_code: int
    fail_message: str
    def __init__(self, message: _Optional[str] = ..., payload: _Optional[bytes] = ..., response_count: _Optional[int] = ..., response_size: _Optional[int] = ..., sleep_ms: _Optional[int] = ..., fail_code: _Optional[int] = ..., fail_message: _Optional[str] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("message", "payload", "index", "received_count", "received_bytes")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    message: str
    payload: bytes
    index: int
    received_count: int
    received_bytes: int
    def __init__(self, message: _Optional[str] = ..., payload: _Optional[bytes] = ..., index: _Optional[int] = ..., received_count: _Optional[int] = ..., received_bytes: _Optional[int] = ...) -> None: ...
