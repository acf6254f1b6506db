"""Check a dataset directory shard by shard against the manifests (``mmfm sim verify DIR``).

Every file a shard's ``manifest.json`` lists is checked for its size and sha256. The shards expected
are those of ``index.json`` (``num_shards``) and every ``shard-*`` directory present, so a shard that
never started is reported too. A rerun of the same ``mmfm sim generate`` command regenerates every
shard that is not complete (``sim.dataset.writer.write_shard``), to the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from runtime.dataset import CARD_NAME, INDEX_NAME, shard_name
from sim.dataset.writer import existing_shards, shard_problems


@dataclass(frozen=True)
class ShardStatus:
    """One shard's state: ``status`` is ``complete``, ``incomplete`` or ``corrupted``."""

    name: str
    status: str
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for people: ``shard-00001-of-00004: corrupted (sample-00000001.npz ...)``."""
        shown = self.problems[:3] + (
            [f"{len(self.problems) - 3} more"] if self.problems[3:] else []
        )
        return f"{self.name}: {self.status}" + (f" ({'; '.join(shown)})" if shown else "")


class VerifyError(ValueError):
    """The directory is not a dataset (one line)."""


def verify_dataset(root: str | Path) -> list[ShardStatus]:
    """Status of every shard of the dataset in ``root``, in shard order.

    Raises:
        VerifyError: ``root`` holds no ``index.json`` and no shard directory.
    """
    out = Path(root)
    present = {p.name: (i, n) for p, i, n in existing_shards(out)}
    counts = {n for _, n in present.values()}
    try:
        index = json.loads((out / INDEX_NAME).read_text(encoding="utf-8"))
        if isinstance(index, dict) and isinstance(index.get("num_shards"), int):
            counts.add(index["num_shards"])
    except (OSError, ValueError):
        pass
    if not counts:
        raise VerifyError(f"{out}: not a dataset (no {INDEX_NAME}, no shard-* directories)")
    names = sorted({shard_name(i, n) for n in counts for i in range(n)} | set(present))
    return [ShardStatus(name, *shard_problems(out / name)) for name in names]


def repair_command(root: str | Path) -> str | None:
    """The command that regenerates the damaged shards (from the card), None when unknown."""
    try:
        card = json.loads((Path(root) / CARD_NAME).read_text(encoding="utf-8"))
        command = card["command"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not command:
        return None
    return command.replace(" --out DIR --shard i/", f" --out {root} --num-shards ")
