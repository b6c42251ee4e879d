"""Markdown tables from a benchmark run's JSON: values, ratios, targets."""

from __future__ import annotations

from typing import Any

__all__ = ["render"]

# (label, row, metric, scale, format, higher is better)
LINES: list[tuple[str, str, str, float, str, bool]] = [
    ("unary, 1 in flight: QPS", "unary1", "rate", 1, "{:.0f}", True),
    ("unary, 1 in flight: p50 µs", "unary1", "p50_us", 1, "{:.0f}", False),
    ("unary, 1 in flight: p99 µs", "unary1", "p99_us", 1, "{:.0f}", False),
    ("CPU s per 10k unary calls: client", "unary1", "client_us", 1e-2, "{:.2f}", False),
    ("CPU s per 10k unary calls: server", "unary1", "server_us", 1e-2, "{:.2f}", False),
    ("unary, 100 in flight: QPS", "unary100", "rate", 1, "{:.0f}", True),
    ("unary, 100 in flight: server CPU µs/call", "unary100", "server_us", 1, "{:.0f}", False),
    ("server streaming, 10 B: msg/s", "server_stream", "rate", 1, "{:.0f}", True),
    ("server streaming: client CPU µs/msg", "server_stream", "client_us", 1, "{:.1f}", False),
    ("server streaming: server CPU µs/msg", "server_stream", "server_us", 1, "{:.1f}", False),
    ("client streaming, 10 B: msg/s", "client_stream", "rate", 1, "{:.0f}", True),
    ("bidi ping-pong: round trips/s", "bidi", "rate", 1, "{:.0f}", True),
    ("1 MiB echo: MB/s", "echo_1MiB", "rate", 1, "{:.0f}", True),
    ("1 MiB echo: server CPU ms/call", "echo_1MiB", "server_us", 1e-3, "{:.2f}", False),
    ("16 MiB echo: MB/s", "echo_16MiB", "rate", 1, "{:.0f}", True),
    (
        "memory per idle connection: server KiB",
        "idle_connections",
        "server_mem",
        1,
        "{:.0f}",
        False,
    ),
    (
        "memory per idle connection: client KiB",
        "idle_connections",
        "client_mem",
        1,
        "{:.0f}",
        False,
    ),
    ("memory per 1000 open streams: server MiB", "open_streams", "server_mem", 1, "{:.1f}", False),
    ("memory per 1000 open streams: client MiB", "open_streams", "client_mem", 1, "{:.1f}", False),
]

GRPCIO = ("grpcio-sync", "grpcio-aio")


def _value(data: dict[str, Any], row: str, metric: str, impl: str) -> float | None:
    value = data["summary"].get(row, {}).get(impl, {}).get(metric)
    return value if isinstance(value, (int, float)) else None


def _fmt(value: float | None, fmt: str, scale: float = 1) -> str:
    return "—" if value is None else fmt.format(value * scale)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}x"


def _grpclib_for(impl: str, impls: tuple[str, ...]) -> str:
    return "grpclib-uvloop" if impl.endswith("-uvloop") and "grpclib-uvloop" in impls else "grpclib"


def render(data: dict[str, Any]) -> str:
    impls: tuple[str, ...] = tuple(data["impls"])
    meta = data["meta"]
    out: list[str] = []
    out.append(
        f"Mode `{data['mode']}`, {meta['rounds']} round(s), medians; {meta['cpu']} "
        f"({meta['cores']} cores), Python {meta['python']}; load average "
        f"{meta['loadavg_start'][0]:.1f} at start, {meta.get('loadavg_end', [0])[0]:.1f} at end; "
        f"{meta.get('seconds', 0):.0f} s."
    )
    out.append("")
    out.append("| row | " + " | ".join(impls) + " |")
    out.append("|---|" + "---|" * len(impls))
    for label, row, metric, scale, fmt, _ in LINES:
        if row not in data["summary"]:
            continue
        cells = [_fmt(_value(data, row, metric, impl), fmt, scale) for impl in impls]
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    ours = [i for i in impls if i.startswith("plugrpc") and "@" not in i]
    peers = [i for i in impls if not i.startswith("plugrpc")]
    if ours and peers:
        out.append("")
        out.append(
            "Ratios: plugrpc ÷ peer (above 1 is better for rates; below 1 is better for "
            "latency, CPU and memory)."
        )
        out.append("")
        heads = [f"{o} ÷ {p}" for o in ours for p in peers]
        out.append("| row | " + " | ".join(heads) + " |")
        out.append("|---|" + "---|" * len(heads))
        for label, row, metric, *_ in LINES:
            if row not in data["summary"]:
                continue
            cells = [
                _ratio(_value(data, row, metric, o), _value(data, row, metric, p))
                for o in ours
                for p in peers
            ]
            out.append(f"| {label} | " + " | ".join(cells) + " |")

    based = [i for i in ours if i + "@base" in impls]
    if based:
        out.append("")
        out.append("This tree ÷ the `--baseline` tree (same run, interleaved):")
        out.append("")
        out.append("| row | " + " | ".join(f"{o} ÷ {o}@base" for o in based) + " |")
        out.append("|---|" + "---|" * len(based))
        for label, row, metric, *_ in LINES:
            if row not in data["summary"]:
                continue
            cells = [
                _ratio(_value(data, row, metric, o), _value(data, row, metric, o + "@base"))
                for o in based
            ]
            out.append(f"| {label} | " + " | ".join(cells) + " |")

    inmem = data.get("inmemory")
    if inmem:
        out.append("")
        out.append("In memory (no sockets, one process, CPU µs per unary call, both sides):")
        out.append("")
        out.append("| stack | µs/call | ÷ h2 floor (validation off) | ÷ h2 default config |")
        out.append("|---|---|---|---|")
        floor = inmem.get("h2_novalidate", {}).get("total_us")
        default = inmem.get("h2_default", {}).get("total_us")
        for key, label in (
            ("h2_default", "h2, default configuration"),
            ("h2_novalidate", "h2, validation off (the floor)"),
            ("machines", "plugrpc connection machines alone (sans-I/O)"),
            ("transport", "plugrpc_transport asyncio API, no call layer"),
            ("plugrpc", "plugrpc Channel + Server, asyncio"),
            ("plugrpc_uvloop", "plugrpc Channel + Server, uvloop"),
        ):
            value = inmem.get(key, {}).get("total_us")
            if value is None:
                continue
            out.append(
                f"| {label} | {_fmt(value, '{:.0f}')} | {_ratio(value, floor)} | "
                f"{_ratio(value, default)} |"
            )

    scaling = data.get("scaling")
    if scaling:
        out.append("")
        out.append(
            "plugrpc server in N worker processes on one port (SO_REUSEPORT), uvloop; load: "
            "2 plugrpc client processes, each 4 channels and 32 unary calls in flight:"
        )
        out.append("")
        out.append("| workers | QPS | server CPU (cores busy) |")
        out.append("|---|---|---|")
        for workers, r in scaling.items():
            out.append(f"| {workers} | {r['qps']:.0f} | {r['server_cpu_per_s']:.2f} |")

    if ours and peers:
        out.append("")
        out.append(targets(data, impls, ours))
    return "\n".join(out)


def targets(data: dict[str, Any], impls: tuple[str, ...], ours: list[str]) -> str:
    """The issue's targets, with the measured ratio for each plugrpc variant."""

    def best(
        row: str, metric: str, candidates: tuple[str, ...], higher: bool
    ) -> tuple[float | None, str]:
        values = [
            (v, c)
            for c in candidates
            if c in impls and (v := _value(data, row, metric, c)) is not None
        ]
        if not values:
            return None, "—"
        return max(values) if higher else min(values)

    lines = ["| target | " + " | ".join(ours) + " |", "|---|" + "---|" * len(ours)]
    specs = [
        (
            "unary 1-in-flight QPS >= 1.1x grpcio sync",
            "unary1",
            "rate",
            ("grpcio-sync",),
            True,
            1.1,
        ),
        ("unary 1-in-flight QPS >= 2x grpclib", "unary1", "rate", ("grpclib",), True, 2.0),
        (
            "server CPU per unary call <= 0.6x grpcio's (the cheaper grpcio server)",
            "unary1",
            "server_us",
            GRPCIO,
            False,
            0.6,
        ),
        (
            "server streaming >= 2x grpcio (the faster one)",
            "server_stream",
            "rate",
            GRPCIO,
            True,
            2.0,
        ),
        ("server streaming >= 1.3x grpclib", "server_stream", "rate", ("grpclib",), True, 1.3),
        ("bidi >= 1.2x grpcio (the faster one)", "bidi", "rate", GRPCIO, True, 1.2),
        ("1 MiB echo >= 0.5x grpcio (the faster one)", "echo_1MiB", "rate", GRPCIO, True, 0.5),
    ]
    for label, row, metric, peers, higher, goal in specs:
        cells = []
        for o in ours:
            cand = peers
            if peers == ("grpclib",):
                cand = (_grpclib_for(o, impls),)
            peer_value, peer = best(row, metric, cand, higher)
            mine = _value(data, row, metric, o)
            if mine is None or peer_value is None:
                cells.append("—")
                continue
            r = mine / peer_value
            ok = r >= goal if higher else r <= goal
            cells.append(f"{r:.2f}x vs {peer} {'met' if ok else 'MISSED'}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    inmem = data.get("inmemory") or {}
    floor = inmem.get("h2_novalidate", {}).get("total_us")
    cells = []
    for o in ours:
        key = "plugrpc" if o == "plugrpc" else "plugrpc_uvloop"
        value = inmem.get(key, {}).get("total_us")
        if value is None or not floor:
            cells.append("—")
        else:
            r = value / floor
            cells.append(f"{r:.2f}x {'met' if r <= 1.3 else 'MISSED'}")
    lines.append("| in-memory cost per call <= 1.3x the h2 floor | " + " | ".join(cells) + " |")
    return "\n".join(lines)
