"""The questions `mmfm demo` asks the daemon at the end, their truth, and how answers are judged.

Three questions go to the running daemon through its ZeroMQ request endpoint (the same path as
``mmfm ask --zmq``), after the last frame:

=====================================  =========================================================
question                               truth (from the scene script, at the end of the stream)
=====================================  =========================================================
How many people are in the room?       the people present at the end (``ScriptedScene.present``)
Did anyone fall?                       yes once A's fall has happened, else no
Is anyone lying on the floor?          yes from 2 s after the fall (A lies still), else no
=====================================  =========================================================

Criterion (:func:`judge`): a count answer is right when it names the true count (as a digit or a
word) and no other count; a yes/no answer is right when its first "yes"/"no" (or "nobody",
"no one") matches the truth. An answer that says neither is wrong. The criterion is lenient on
wording and strict on the fact; it is the same for every model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: (question, kind) asked in this order.
QUESTIONS = (
    ("How many people are in the room?", "count"),
    ("Did anyone fall?", "fell"),
    ("Is anyone lying on the floor?", "lying"),
)
_NUMBERS = {
    "no one": 0, "nobody": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
#: seconds after the fall's start from which "lying on the floor" is true
LYING_AFTER_S = 2.0


@dataclass(frozen=True)
class Answered:
    """One question, its truth, the daemon's reply, and whether the answer is right."""

    question: str
    truth: Any
    reply: dict[str, Any]
    ok: bool
    detail: str


def truths(scripted: Any, notes: list[Any], t_end: float) -> dict[str, Any]:
    """The true answers at ``t_end`` [s into the scene]: count (int), fell and lying (bool)."""
    falls = [n.time_s for n in notes if "falls" in n.text]
    fell = any(t <= t_end for t in falls)
    lying = any(t + LYING_AFTER_S <= t_end for t in falls)
    return {"count": len(scripted.present(t_end - 1e-6)), "fell": fell, "lying": lying}


def counts_in(text: str) -> set[int]:
    """The counts an answer names (digits 0-99 and the words zero..nine, nobody, no one)."""
    low = text.lower()
    found = {int(d) for d in re.findall(r"\b\d{1,2}\b", low)}
    found |= {n for w, n in _NUMBERS.items() if re.search(rf"\b{w}\b", low)}
    return found


def yes_no(text: str) -> bool | None:
    """The first yes/no in an answer (None: neither)."""
    m = re.search(r"\b(yes|no one|nobody|no)\b", text.lower())
    return None if m is None else m.group(1) == "yes"


def judge(kind: str, answer: str, truth: Any) -> tuple[bool, str]:
    """``(right, why)`` for one answer (module docstring)."""
    if kind == "count":
        named = counts_in(answer)
        if named == {int(truth)}:
            return True, f"names {truth}"
        return False, f"names {sorted(named) or 'no count'}, truth {truth}"
    said = yes_no(answer)
    if said is None:
        return False, f"no yes/no; truth {'yes' if truth else 'no'}"
    ok = said == bool(truth)
    return ok, f"says {'yes' if said else 'no'}, truth {'yes' if truth else 'no'}"


def ask_all(
    ask: Callable[[str], dict[str, Any]], truth: dict[str, Any], out: Callable[[str], None]
) -> list[Answered]:
    """Ask every question with ``ask`` (question -> the daemon's final reply) and judge it."""
    results = []
    for question, kind in QUESTIONS:
        reply = ask(question)
        if reply.get("status") != "ok":
            ok, detail = False, f"{reply.get('status', 'no reply')}: {reply.get('error')}"
            answer = ""
        else:
            answer = " ".join(str(reply.get("answer", "")).split())
            ok, detail = judge(kind, answer, truth[kind])
        shown = truth[kind] if kind == "count" else ("yes" if truth[kind] else "no")
        out(f"  Q: {question}\n     answer: {answer or '-'}\n     truth:  {shown}  [{detail}]")
        results.append(Answered(question, truth[kind], reply, ok, detail))
    return results
