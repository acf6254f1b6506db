"""The time range a question implies ("in the last hour", "today", "since 10 minutes").

:func:`time_range` reads a question's words and returns the span of logged events and windows to
answer it from. It understands:

- a length back from now: "in the last hour", "past 3 days", "the last 10 min", "since 10 minutes",
  "since half an hour", "20 minutes ago", "over the last couple of hours" (numbers as digits or as
  words up to twelve; "a", "an", "a couple of", "a few");
- calendar words (local time): "today", "yesterday", "this morning" (from 00:00 to 12:00),
  "this afternoon" (12:00-18:00), "this evening" / "tonight" (18:00 on), "last night" (yesterday
  18:00 to today 06:00);
- "now", "right now", "currently", "at the moment", "is anyone": the present, i.e. the short
  ``now_span_s``;
- anything else: the default recent span (``default_span_s``).

The first match in that order wins. Pure functions; times are [s since the epoch].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["TimeRange", "time_range"]

_UNIT_S = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "a couple of": 2, "a few": 3,
    "couple of": 2, "few": 3, "half an": 0.5, "half a": 0.5,
}  # fmt: skip
_NUM = (
    r"(?P<num>\d+(?:\.\d+)?|"
    + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))
    + r")"
)
_UNIT = r"(?P<unit>" + "|".join(sorted(_UNIT_S, key=len, reverse=True)) + r")\b"
#: "last/past N units", "since N units", "N units ago", "last hour" (number omitted = 1)
_BACK = [
    re.compile(r"\b(?:last|past|previous)\s+(?:" + _NUM + r"\s*)?" + _UNIT),
    re.compile(r"\bsince\s+(?:the\s+last\s+)?" + _NUM + r"\s*" + _UNIT),
    re.compile(r"\b(?:within|over)\s+(?:the\s+)?" + _NUM + r"\s*" + _UNIT),
    re.compile(r"\b" + _NUM + r"\s*" + _UNIT + r"\s+ago\b"),
]
_NOW = re.compile(r"\b(?:right now|now|currently|at the moment|at present|is anyone|is someone)\b")


@dataclass(frozen=True)
class TimeRange:
    """``since <= t <= until`` [s since the epoch], and the words it came from."""

    since: float
    until: float
    words: str

    @property
    def span_s(self) -> float:
        return self.until - self.since

    def to_dict(self) -> dict[str, object]:
        return {"since": self.since, "until": self.until, "words": self.words}


def _amount(text: str | None) -> float:
    if text is None:
        return 1.0
    if text in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[text])
    return float(text)


def _at(day: datetime, hour: int) -> float:
    return (
        day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=hour)
    ).timestamp()


def time_range(
    question: str,
    now: float,
    *,
    default_span_s: float = 900.0,
    now_span_s: float = 60.0,
    max_span_s: float = 30 * 86400.0,
) -> TimeRange:
    """The span of the log a question is about (module docstring).

    Args:
        question: the question text.
        now: when it was asked [s since the epoch]; calendar words use the local time zone.
        default_span_s: the span when the question names none [s].
        now_span_s: the span of "now" questions [s].
        max_span_s: longest span returned (longer ones are cut to this) [s].

    Returns:
        The :class:`TimeRange` (``until`` is ``now`` except for "yesterday" and "last night").
    """
    q = " ".join(question.lower().replace("-", " ").split())
    for pattern in _BACK:
        m = pattern.search(q)
        if m:
            span = min(_amount(m.group("num")) * _UNIT_S[m.group("unit")], max_span_s)
            if span > 0:
                return TimeRange(now - span, now, m.group(0))
    local = datetime.fromtimestamp(now).astimezone()
    yesterday = local - timedelta(days=1)
    calendar = [
        ("last night", _at(yesterday, 18), _at(local, 6)),
        ("yesterday", _at(yesterday, 0), _at(local, 0)),
        ("today", _at(local, 0), now),
        ("this morning", _at(local, 0), _at(local, 12)),
        ("this afternoon", _at(local, 12), _at(local, 18)),
        ("this evening", _at(local, 18), now),
        ("tonight", _at(local, 18), now),
    ]
    for words, since, until in calendar:
        if re.search(rf"\b{words}\b", q):
            until = min(until, now)
            return TimeRange(min(since, until), until, words)
    m = _NOW.search(q)
    if m:
        return TimeRange(now - now_span_s, now, m.group(0))
    return TimeRange(now - default_span_s, now, "")
