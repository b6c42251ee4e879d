"""The ``python -m plugrpc`` command line.

Commands:
    plugins [--json]   list every registered plugin: kind, key, distribution, version, class.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from plugrpc_core import plugins

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

__all__ = ["main"]

_HEADERS = ("KIND", "KEY", "DISTRIBUTION", "VERSION", "CLASS")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m plugrpc", description="plugrpc command-line tools."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "plugins",
        help="list the registered plugins",
        description=(
            "List every registered plugin (balancers, resolvers, codecs, compressors, "
            "credentials, interceptors, stats handlers) with the distribution that provides "
            "it. Honours PLUGRPC_DISABLE_PLUGIN_AUTOLOAD, PLUGRPC_PLUGINS and "
            "PLUGRPC_BLOCK_PLUGINS."
        ),
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _rows() -> list[dict[str, str | None]]:
    return [
        {
            "kind": entry.kind,
            "key": entry.key,
            "distribution": entry.distribution,
            "version": entry.version,
            "class": entry.class_path,
            "entry_point": entry.entry_point,
        }
        for entry in plugins.all_entries()
    ]


def _print_table(rows: list[dict[str, str | None]], out: TextIO) -> None:
    table = [_HEADERS] + [
        (
            r["kind"] or "",
            r["key"] or "",
            r["distribution"] or "",
            r["version"] or "-",
            r["class"] or "",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(_HEADERS) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    if not rows:
        out.write("(no plugins registered)\n")


def _plugins_command(as_json: bool) -> int:
    try:
        rows = _rows()
        skipped = plugins.skipped_entry_points()
    except plugins.PluginError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        _print_table(rows, sys.stdout)
    for item in skipped:
        sys.stderr.write(
            f"note: entry point {item.name!r} of {item.distribution} was not loaded: "
            f"{item.reason}\n"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for a usage error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "plugins":
        return _plugins_command(args.json)
    parser.print_usage(sys.stderr)
    sys.stderr.write("error: a command is required (try: python -m plugrpc plugins)\n")
    return 2
