"""Scene time for a simulated scene streamed faster (or slower) than real time.

``mmfm demo --speed 3`` and the daemon's end-to-end tests stream a rendered scene through the real
source (a fake DCA1000 on loopback) at another pace than the scene's; :class:`SceneClockSource` wraps
that source and stamps each frame with its scene time, so hold times, settle times and fall speeds
stay in scene seconds although the frames come faster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from runtime.frames import PointCloudFrame, RawFrame
from runtime.sources.base import Source, SourceFactory, SourceStats

__all__ = ["SceneClockSource"]


class SceneClockSource:
    """Wraps a source and stamps each frame with its scene time ``t0 + frame_number x
    frame_period_s``; everything else is the wrapped source's (a
    :class:`runtime.sources.base.Source` itself).

    Args:
        inner: the source built from the radar's config (``runtime.pipeline.make_source``).
        t0: scene time zero [s since the epoch].
        frame_period_s: the chirp profile's frame period [s].
        after_open: what the daemon runs right after ``open()`` (send the chirp config), if any.
    """

    def __init__(
        self,
        inner: Source,
        t0: float,
        frame_period_s: float,
        after_open: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.t0 = t0
        self.period = frame_period_s
        self.after_open = after_open
        self.name = inner.name

    @classmethod
    def from_factory(cls, factory: SourceFactory, t0: float, period: float) -> SceneClockSource:
        """Wrap what a :data:`runtime.sources.base.SourceFactory` builds (source + sender)."""
        source, after_open = factory()
        return cls(source, t0, period, after_open)

    @property
    def stats(self) -> SourceStats:
        return self.inner.stats

    def open(self) -> None:
        self.inner.open()
        if self.after_open is not None:
            self.after_open()

    def close(self) -> None:
        self.inner.close()

    def frames(self) -> Iterator[RawFrame | PointCloudFrame]:
        for frame in self.inner.frames():
            frame.timestamp = self.t0 + frame.frame_number * self.period
            yield frame

    def __enter__(self) -> SceneClockSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
