"""What every interop program shares: the standard flags, sizes, metadata keys and case names.

The plugrpc server and client (tools/interop) and the grpcio peers (tests/interop) import this
module; it needs neither plugrpc nor grpcio. The values come from gRPC's interop test
descriptions (doc/interop-test-descriptions.md) and grpc-go's interop client (census 3).

Flags follow grpc-go's spelling: ``--name=value`` (``--name value`` also works), booleans as
``true``/``false`` (a bare ``--use_tls`` means true), unknown flags are an error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = [
    "CLIENT_TEST_CASES",
    "ECHO_INITIAL_KEY",
    "ECHO_INITIAL_VALUE",
    "ECHO_TRAILING_KEY",
    "ECHO_TRAILING_VALUE",
    "GEN_DIR",
    "LARGE_REQUEST_SIZE",
    "LARGE_RESPONSE_SIZE",
    "REQUEST_SIZES",
    "RESPONSE_SIZES",
    "SPECIAL_STATUS_MESSAGE",
    "STATUS_MESSAGE",
    "TLS_SERVER_NAME",
    "CaseFailed",
    "check",
    "client_parser",
    "parse_bool",
    "server_parser",
    "use_generated_modules",
]

#: Request payload sizes of client_streaming and ping_pong (they sum to 74922).
REQUEST_SIZES = (27182, 8, 1828, 45904)
#: Response payload sizes of server_streaming and ping_pong.
RESPONSE_SIZES = (31415, 9, 2653, 58979)
#: large_unary's request payload and response payload sizes.
LARGE_REQUEST_SIZE = 271828
LARGE_RESPONSE_SIZE = 314159

#: Echo Metadata: the server returns this key in its response headers...
ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_INITIAL_VALUE = "test_initial_metadata_value"
#: ...and this binary key in its trailers.
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"
ECHO_TRAILING_VALUE = b"\xab\xab\xab"

STATUS_MESSAGE = "test status message"
#: special_status_message: whitespace, a BMP and a non-BMP character (percent-encoding).
SPECIAL_STATUS_MESSAGE = (
    "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
)

#: The name in gRPC's test server certificate, used with --server_host_override.
TLS_SERVER_NAME = "foo.test.google.fr"

#: Every case the clients implement, in the order the matrix plays them.
CLIENT_TEST_CASES = (
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "status_code_and_message",
    "special_status_message",
    "custom_metadata",
    "unimplemented_method",
    "unimplemented_service",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
    "rpc_soak",
    "channel_soak",
)

#: The generated grpc.testing modules (tools/gen_protos.py writes them).
GEN_DIR = Path(__file__).resolve().parent / "gen"


def use_generated_modules() -> None:
    """Make the generated ``interop_*`` modules importable as top-level names."""
    gen = str(GEN_DIR)
    if gen not in sys.path:
        sys.path.insert(0, gen)


class CaseFailed(Exception):
    """An assertion of an interop case did not hold; the message says which and why."""


def check(condition: bool, message: str) -> None:
    """Raise ``CaseFailed(message)`` unless ``condition`` holds (``assert`` dies under -O)."""
    if not condition:
        raise CaseFailed(message)


_TRUE = frozenset({"1", "t", "true", "yes"})
_FALSE = frozenset({"0", "f", "false", "no"})


def parse_bool(text: str) -> bool:
    """A boolean flag value, spelled as Go's ``strconv.ParseBool`` accepts (true/false, 1/0)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _bool_flag(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(
        f"--{name}",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        metavar="true|false",
        help=help_text,
    )


def server_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The interop server's flags: --port, --use_tls, --tls_cert_file, --tls_key_file."""
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    parser.add_argument(
        "--port", type=int, default=10000, help="the port to listen on (0: any free one)"
    )
    _bool_flag(parser, "use_tls", "serve TLS (needs --tls_cert_file and --tls_key_file)")
    parser.add_argument("--tls_cert_file", default="", help="PEM certificate chain for TLS")
    parser.add_argument("--tls_key_file", default="", help="PEM private key for TLS")
    return parser


def client_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The interop client's flags, with grpc-go's defaults (soak knobs included)."""
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    parser.add_argument("--server_host", default="localhost", help="the server's host")
    parser.add_argument("--server_port", type=int, default=10000, help="the server's port")
    parser.add_argument(
        "--server_host_override",
        default="",
        help="the name to verify in the server's certificate and to send as :authority",
    )
    parser.add_argument(
        "--test_case", default="large_unary", choices=CLIENT_TEST_CASES, help="the case to run"
    )
    _bool_flag(parser, "use_tls", "connect with TLS")
    _bool_flag(parser, "use_test_ca", "trust the test CA (give it with --ca_file)")
    parser.add_argument("--ca_file", default="", help="PEM bundle of CA certificates to trust")
    parser.add_argument("--soak_iterations", type=int, default=10, help="soak: calls to make")
    parser.add_argument(
        "--soak_max_failures", type=int, default=0, help="soak: failed calls tolerated"
    )
    parser.add_argument(
        "--soak_per_iteration_max_acceptable_latency_ms",
        type=int,
        default=1000,
        help="soak: a slower call counts as a failure",
    )
    parser.add_argument(
        "--soak_overall_timeout_seconds",
        type=int,
        default=10,
        help="soak: stop starting calls after this long",
    )
    parser.add_argument(
        "--soak_min_time_ms_between_rpcs",
        type=int,
        default=0,
        help="soak: the least time from one call's start to the next's",
    )
    parser.add_argument(
        "--soak_request_size", type=int, default=LARGE_REQUEST_SIZE, help="soak: request bytes"
    )
    parser.add_argument(
        "--soak_response_size", type=int, default=LARGE_RESPONSE_SIZE, help="soak: response bytes"
    )
    parser.add_argument("--soak_num_threads", type=int, default=1, help="soak: concurrent workers")
    return parser
