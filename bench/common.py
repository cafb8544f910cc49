"""Helpers shared by the benchmarks: timing, peak memory of a child process, ratio lines."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# urlwatch, the closest peer, in its own venv: installed for the benchmarks only, not a dependency.
URLWATCH_VENV = Path("/tmp/bench-urlwatch-venv")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_of(runs: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Shortest of several runs: the machine is shared, the minimum is the least noisy."""
    best: tuple[float, T] | None = None
    for _ in range(runs):
        measured = timed(fn)
        if best is None or measured[0] < best[0]:
            best = measured
    assert best is not None
    return best


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB.

    VmHWM belongs to the process's own address space, which exec starts afresh; ru_maxrss does
    not: Linux carries it across fork and exec, so a child started by a large parent would report
    the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio_line(name: str, ours: float, floor: float, target: float, *, unit: str = "s") -> str:
    """Throughput ratio = floor time / our time (1.0 = as fast as the floor)."""
    ratio = floor / ours if ours else float("inf")
    verdict = "OK" if ratio >= target else "BELOW TARGET"
    return (f"{name:<38} ours {ours:8.3f}{unit}  floor {floor:8.3f}{unit}  ratio {ratio:5.2f}x  "
            f"(target >= {target}x) {verdict}")


def install_urlwatch() -> bool:
    """urlwatch in its own venv, for the benchmarks only (not a dependency); False if it cannot be installed."""
    python = URLWATCH_VENV / "bin" / "python"
    if not (URLWATCH_VENV / "bin" / "urlwatch").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(URLWATCH_VENV)], check=True, capture_output=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "urlwatch"], check=True, capture_output=True, timeout=600
            )
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"urlwatch: skipped, cannot install it into {URLWATCH_VENV}: {exc}")
            return False
    return True
