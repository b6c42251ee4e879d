"""Regenerate every committed generated module of the repository.

Run from the repository root with the default env's python::

    hatch run python tools/gen_protos.py                # rewrite every gen directory
    hatch run python tools/gen_protos.py --check        # exit 1 if a committed file is stale
    hatch run python tools/gen_protos.py --output-root DIR   # write under DIR instead

Each target is compiled with grpcio-tools' protoc (pinned in hatch.toml, so the output is
stable) and the repository's own protoc-gen-plugrpc: ``-I <protos dir>`` makes the modules
top-level names (``import echo_pb2``), so users of a gen directory put it on ``sys.path``.
"""

from __future__ import annotations

import argparse
import filecmp
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The file names protoc and its plugins write; anything else in a gen dir is left alone.
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_plugrpc.py")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One directory of .proto files and the directory its generated modules go to.

    Args:
        protos: the include directory, relative to the repository root.
        out: the output directory, relative to the repository (or output) root.
        grpcio: also write grpcio's ``_pb2_grpc.py`` (for interop tests against grpcio).
    """

    protos: str
    out: str
    grpcio: bool


TARGETS = (
    Target(protos="tests/protos", out="tests/gen", grpcio=True),
    Target(protos="tools/demo/protos", out="tools/demo/gen", grpcio=False),
    Target(protos="tools/interop/protos", out="tools/interop/gen", grpcio=True),
)


def _write_launcher(directory: Path) -> Path:
    """A protoc plugin executable that runs this checkout's protoc-gen-plugrpc.

    protoc needs an executable file; a shell script avoids the shebang length limit that a
    long virtualenv path could hit, and PYTHONPATH makes the repository's generator win
    over whatever version is installed.
    """
    source = REPO / "packages" / "plugrpc-tools" / "src"
    launcher = directory / "protoc-gen-plugrpc"
    launcher.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(source))}${{PYTHONPATH:+:$PYTHONPATH}} exec "
        f'{shlex.quote(sys.executable)} -m plugrpc_tools "$@"\n'
    )
    launcher.chmod(0o755)
    return launcher


def generate(output_root: Path) -> list[Path]:
    """Compile every target into ``output_root``; return the files written (relative)."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="plugrpc-gen-") as scratch:
        launcher = _write_launcher(Path(scratch))
        for target in TARGETS:
            protos = REPO / target.protos
            out = output_root / target.out
            out.mkdir(parents=True, exist_ok=True)
            for stale in out.iterdir():
                if stale.is_file() and stale.name.endswith(GENERATED_SUFFIXES):
                    stale.unlink()
            sources = sorted(path.relative_to(protos).as_posix() for path in protos.glob("*.proto"))
            command = [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{protos}",
                f"--python_out={out}",
                f"--pyi_out={out}",
                f"--plugrpc_out={out}",
                f"--plugin=protoc-gen-plugrpc={launcher}",
            ]
            if target.grpcio:
                command.append(f"--grpc_python_out={out}")
            result = subprocess.run(
                [*command, *sources], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise SystemExit(f"protoc failed for {target.protos}:\n{result.stderr}")
            written.extend(
                path.relative_to(output_root)
                for path in sorted(out.iterdir())
                if path.name.endswith(GENERATED_SUFFIXES)
            )
    return written


def stale_files(output_root: Path) -> list[str]:
    """Generated files under ``output_root`` that differ from (or are missing in) the repo.

    Also lists committed generated files that generation no longer produces.
    """
    problems: list[str] = []
    for target in TARGETS:
        fresh_dir = output_root / target.out
        committed_dir = REPO / target.out
        fresh = {p.name for p in fresh_dir.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}
        committed = (
            {p.name for p in committed_dir.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}
            if committed_dir.is_dir()
            else set()
        )
        for name in sorted(fresh | committed):
            path = f"{target.out}/{name}"
            if name not in committed:
                problems.append(f"{path}: missing")
            elif name not in fresh:
                problems.append(f"{path}: no longer generated")
            elif not filecmp.cmp(fresh_dir / name, committed_dir / name, shallow=False):
                problems.append(f"{path}: differs from a fresh generation")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Regenerate, or with ``--check`` report stale generated files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh generation with the committed files"
    )
    parser.add_argument(
        "--output-root", type=Path, default=None, help="write under this directory, not the repo"
    )
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory(prefix="plugrpc-check-") as scratch:
            generate(Path(scratch))
            problems = stale_files(Path(scratch))
        for problem in problems:
            print(problem)
        if problems:
            print("run: hatch run python tools/gen_protos.py", file=sys.stderr)
            return 1
        return 0
    root = args.output_root if args.output_root is not None else REPO
    for path in generate(root.resolve()):
        print(path.as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
