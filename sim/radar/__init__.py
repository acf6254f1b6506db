"""FMCW TDM-MIMO ADC synthesis: the radar end of the simulator (units and conventions in each module)."""

from __future__ import annotations

from typing import Any

__all__ = ["PointTarget", "synthesize_frame", "synthesize_frames"]


def __getattr__(name: str) -> Any:
    # Lazy re-export, so that `python -m sim.radar.point_targets` does not import the module twice.
    if name in __all__:
        from sim.radar import point_targets

        return getattr(point_targets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
