"""Projected time and storage of a dataset from a measured generation cost (``mmfm sim plan``).

The cost comes from a dataset's ``cost.json`` (written by every ``mmfm sim generate`` run: CPU
seconds and bytes per sample) or from a small run measured here. The projection assumes shards
scale linearly over workers (one shard per worker, each single-threaded), which holds for the
scatter backend as long as every worker has a core of its own.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sim.dataset.writer import COST_NAME, GenerateSpec, generate


@dataclass(frozen=True)
class Cost:
    """Measured generation cost: CPU time [s] and storage [bytes] per sample, over ``samples``."""

    cpu_s_per_sample: float
    bytes_per_sample: float
    samples: int
    source: str


@dataclass(frozen=True)
class Plan:
    """Projection for ``num`` samples on ``workers`` single-core workers."""

    num: int
    workers: int
    cpu_hours: float
    wall_hours: float
    storage_bytes: float
    shards: int

    def lines(self, cost: Cost) -> list[str]:
        """Human-readable report (one fact per line)."""
        return [
            f"measured: {cost.cpu_s_per_sample:.3f} CPU s/sample, "
            f"{cost.bytes_per_sample / 1e3:.1f} kB/sample ({cost.samples} samples, {cost.source})",
            f"{self.num} samples: {self.cpu_hours:.1f} CPU hours, "
            f"{_storage(self.storage_bytes)} on disk",
            f"on {self.workers} worker(s): {_duration(self.wall_hours)} wall time "
            f"(linear scaling, one core per worker), e.g. {self.shards} shards "
            f"(--num-shards {self.shards}, {math.ceil(self.num / self.shards)} samples each)",
        ]


def read_cost(root: str | Path) -> Cost:
    """The cost recorded in ``root/cost.json``.

    Raises:
        ValueError: no usable ``cost.json`` (one line).
    """
    path = Path(root) / COST_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Cost(
            float(doc["cpu_s_per_sample"]),
            float(doc["bytes_per_sample"]),
            int(doc["samples"]),
            str(path),
        )
    except OSError:
        raise ValueError(f"{path}: not found (generate the dataset with this mmfm first)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable cost record ({exc})") from None


def measure_cost(spec: GenerateSpec) -> Cost:
    """Generate ``spec`` (small: a few samples) in a temporary directory and read its cost."""
    with tempfile.TemporaryDirectory(prefix="mmfm-plan-") as tmp:
        generate(tmp, spec, num_shards=1)
        cost = read_cost(tmp)
    return Cost(cost.cpu_s_per_sample, cost.bytes_per_sample, cost.samples, "measured now")


def make_plan(cost: Cost, num: int, workers: int, samples_per_shard: int = 1000) -> Plan:
    """Project ``num`` samples on ``workers`` workers; shards of about ``samples_per_shard``."""
    cpu_s = cost.cpu_s_per_sample * num
    shards = max(workers, math.ceil(num / samples_per_shard))
    # shards run whole: the last wave can leave workers idle
    waves = math.ceil(shards / workers)
    wall_s = waves * math.ceil(num / shards) * cost.cpu_s_per_sample
    return Plan(num, workers, cpu_s / 3600, wall_s / 3600, cost.bytes_per_sample * num, shards)


def _storage(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1e3:.1f} kB"


def _duration(hours: float) -> str:
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
