"""This process's CPU use and memory, for the stats the daemon publishes (cheap: no psutil).

One sampler class for every part that reports them (the app's per-radar stats, the MQTT stats
topic); each sampler measures CPU since its own previous sample.
"""

from __future__ import annotations

import os
import resource
import threading
import time

__all__ = ["ProcessStats", "rss_mb"]


class ProcessStats:
    """CPU use of this process between calls [% of one core] and its resident memory [MB]."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), time.process_time())

    def sample(self) -> dict[str, float]:
        now, cpu = time.monotonic(), time.process_time()
        t0, cpu0 = self._last
        self._last = (now, cpu)
        percent = 100.0 * (cpu - cpu0) / (now - t0) if now > t0 else 0.0
        return {
            "cpu_percent": round(percent, 1),
            "rss_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "threads": threading.active_count(),
        }


def rss_mb() -> float:
    """Resident memory of this process now [MB] (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
