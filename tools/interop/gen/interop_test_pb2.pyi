import interop_empty_pb2 as _interop_empty_pb2
import interop_messages_pb2 as _interop_messages_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
