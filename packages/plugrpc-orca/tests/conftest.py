"""Fixtures for plugrpc-orca's tests.

``reference_messages`` compiles the package's own .proto files with grpcio-tools' protoc
into a private descriptor pool (nothing is added to protobuf's default pool) and returns
protobuf's message classes, the reference our hand-written codec is checked against.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

PROTOS = Path(__file__).resolve().parents[1] / "src" / "plugrpc_orca" / "protos"


@pytest.fixture(scope="session")
def reference_messages(tmp_path_factory: pytest.TempPathFactory) -> Any:
    grpc_tools = pytest.importorskip("grpc_tools")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    out = tmp_path_factory.mktemp("orca-protos") / "orca.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{well_known}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            "xds/data/orca/v3/orca_load_report.proto",
            "xds/service/orca/v3/orca.proto",
        ],
        check=True,
    )
    file_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in file_set.file:
        pool.Add(file_proto)
    return SimpleNamespace(
        OrcaLoadReport=message_factory.GetMessageClass(
            pool.FindMessageTypeByName("xds.data.orca.v3.OrcaLoadReport")
        ),
        OrcaLoadReportRequest=message_factory.GetMessageClass(
            pool.FindMessageTypeByName("xds.service.orca.v3.OrcaLoadReportRequest")
        ),
        service=pool.FindServiceByName("xds.service.orca.v3.OpenRcaService"),
    )
