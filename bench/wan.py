"""WAN mode of the benchmarks: a server behind a proxy that behaves like a network.

Loopback hides what costs time on a real network: each round trip and each
connection's bandwidth. :func:`wan_proxy` puts a :class:`tests.servers.proxy.TCPProxy`
in front of a local server with a latency (default 20 ms one way, so a 40 ms round
trip) and a bandwidth cap per connection and direction (default 20 MB/s), so request
counts and connection concurrency show up in the timings as they would in production.

Each measurement runs in a fresh Python process (:func:`run_measured`), so the peak
resident memory it reports (``VmHWM`` growth, after resetting the mark) belongs to
that one operation. The snippet helpers here use nothing from this package, so the
same snippet can run beside django-storages 1.14 in its own virtualenv
(:func:`bench.reference.run_reference`).

Run a backend's WAN bench with ``--wan`` (e.g. ``bench/bench_s3.py --wan``); set
``WAN_LATENCY`` (seconds one way) or ``WAN_BANDWIDTH`` (bytes/s) to change the link.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LATENCY = float(os.environ.get("WAN_LATENCY", "0.020"))
BANDWIDTH = float(os.environ.get("WAN_BANDWIDTH", str(20e6)))
RTT = 2 * LATENCY

__all__ = ["LATENCY", "BANDWIDTH", "RTT", "wan_proxy", "MEASURE", "run_measured", "print_wan_table"]


def wan_proxy(port: int, latency: float = LATENCY, bandwidth: float | None = BANDWIDTH) -> Any:
    """A started TCPProxy to 127.0.0.1:``port`` with a WAN's latency and per-connection
    bandwidth."""
    sys.path.insert(0, str(ROOT))
    from tests.servers.proxy import TCPProxy

    return TCPProxy("127.0.0.1", port, latency=latency, bandwidth=bandwidth).start()


#: For measured snippets: ``_status("VmRSS")`` (or another /proc/self/status field) in bytes.
STATUS = r"""
def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
"""

#: Prepended to every measured snippet: ``measure(fn, repeat=1)`` runs ``fn`` and prints
#: one JSON line with the median seconds and the peak RSS growth (MB) over the runs
#: (``warm=True``: one call first, outside the figures).
MEASURE = (
    STATUS
    + r"""
import json, statistics, time

def measure(fn, repeat=1, warm=False, **extra):
    if warm:  # a first call outside the figures (connections, lazy imports)
        fn()
    times, growth = [], 0
    for _ in range(repeat):
        with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
            f.write("5")
        before = _status("VmRSS")
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        growth = max(growth, _status("VmHWM") - before)
    print(json.dumps({"seconds": statistics.median(times), "rss_mb": growth / 2**20, **extra}))
"""
)


def run_measured(
    code: str, python: str | None = None, env: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """Run ``MEASURE + code`` in a fresh process; return the JSON object it printed last."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    out = subprocess.run(
        [python or sys.executable, "-c", MEASURE + code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT),
    )
    if out.returncode != 0:
        raise RuntimeError(f"measured snippet failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_wan_table(rows: list[dict[str, Any]], title: str) -> None:
    """Rows of {"impl", "operation", "seconds", "rss_mb"}: seconds, round trips and peak RSS
    growth."""
    print(f"\n{title}\n")
    print(
        f"| {'implementation':<22} | {'operation':<40} | {'seconds':>8} | {'RTTs':>6} | "
        f"{'RSS +MB':>8} |"
    )
    print(f"|{'-' * 24}|{'-' * 42}|{'-' * 10}|{'-' * 8}|{'-' * 10}|")
    for r in rows:
        rss = f"{r['rss_mb']:>8.1f}" if r.get("rss_mb") is not None else f"{'':>8}"
        print(
            f"| {r['impl']:<22} | {r['operation']:<40} | {r['seconds']:>8.3f} | "
            f"{r['seconds'] / RTT:>6.2f} | {rss} |"
        )
