"""Events: what the daemon tells the smart home (DESIGN.md "Events").

An :class:`Event` is JSON with ``type`` (occupancy, count, tracks, activity, fall, vitals, answer),
``time``, ``value``, ``confidence`` and ``radar``; extra fields go in ``attributes``. The event engine
(``runtime.events.engine``) makes them from DSP output; learned events (activities from the CLMP encoder)
and answers (mm-LLM) use the same type later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Event types the publishers know how to announce (Home Assistant discovery etc.).
EVENT_TYPES = ("occupancy", "count", "tracks", "activity", "fall", "vitals", "answer")
#: The value of an ``activity`` event when nobody there (the radar, a zone) has an activity.
NO_ACTIVITY = "none"


@dataclass(frozen=True)
class Event:
    """One event.

    Attributes:
        type: one of :data:`EVENT_TYPES` (a zone-specific occupancy uses ``attributes["zone"]``).
        time: when it happened [s since the epoch] (the frame's timestamp, not the publish time).
        value: JSON-serialisable payload: bool for occupancy/fall, int for count, dict for vitals
            (``{"breathing_per_min": .., "heart_per_min": .., "quality": ..}``) and tracks, str for
            activity and answer.
        confidence: 0..1.
        radar: the radar id from the daemon config.
        attributes: anything else (zone, track id, position...), JSON-serialisable.
    """

    type: str
    time: float
    value: Any
    confidence: float
    radar: str
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; known: {', '.join(EVENT_TYPES)}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "type": self.type,
            "time": self.time,
            "value": self.value,
            "confidence": self.confidence,
            "radar": self.radar,
        }
        if self.attributes:
            doc["attributes"] = self.attributes
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Event:
        return cls(
            type=doc["type"],
            time=float(doc["time"]),
            value=doc["value"],
            confidence=float(doc["confidence"]),
            radar=str(doc["radar"]),
            attributes=dict(doc.get("attributes", {})),
        )
