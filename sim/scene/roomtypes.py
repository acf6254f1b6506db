"""Room types: names, size ranges and what each must contain (shared by the generator, prompt and judge)."""

from __future__ import annotations

ROOM_TYPES: tuple[str, ...] = (
    "living_room",
    "bedroom",
    "kitchen",
    "bathroom",
    "office",
    "hallway",
    "apartment",
)
SINGLE_ROOM_TYPES: tuple[str, ...] = ROOM_TYPES[:-1]
# Room types an apartment is made of (a hallway comes with a staircase, so it stays a room of its own).
APARTMENT_ROOM_TYPES: tuple[str, ...] = ("bedroom", "kitchen", "bathroom", "office")

# Interior width (x) and depth (y) ranges [m] per room type.
ROOM_SIZES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "living_room": ((4.0, 7.0), (3.6, 6.0)),
    "bedroom": ((3.0, 4.8), (3.0, 4.5)),
    "kitchen": ((2.6, 4.5), (2.6, 4.2)),
    "bathroom": ((1.9, 3.0), (1.9, 3.0)),
    "office": ((2.6, 4.5), (2.6, 4.2)),
    "hallway": ((1.7, 2.4), (5.2, 8.0)),
}
APARTMENT_DEPTH_M = (3.4, 5.0)
CEILING_HEIGHT_M = (2.4, 3.0)

# A room of this type is implausible without at least one of these labels (judge_layout), unless the
# prompt explicitly said "no <label>".
REQUIRED_LABELS: dict[str, tuple[str, ...]] = {
    "living_room": ("sofa", "armchair"),
    "bedroom": ("bed",),
    "kitchen": ("counter", "sink", "stove"),
    "bathroom": ("toilet", "sink"),
    "office": ("desk",),
    "hallway": ("stairs",),
}


def unknown_room_type(name: str) -> ValueError:
    """The error for an unsupported room type, listing the known ones."""
    return ValueError(
        f"unknown room type {name!r}; known room types: {', '.join(ROOM_TYPES)} "
        "(prompt words: living room, bedroom, kitchen, bathroom, office, hallway, apartment)"
    )
