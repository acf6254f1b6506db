"""Class names for zero-shot recognition: default label sets, prompt templates, text prototypes.

A label ("jumping jacks", "walking", "squats") is turned into verb phrases: the simulator's own
paraphrases when the label names one of its activities (``sim.captions.ACTIVITY_PHRASES``, so the
prompts speak the captions' language: "doing jumping jacks", "doing star jumps"), else the label as
written. Each phrase goes through every template; the prototype is the normalised mean embedding
(a prompt ensemble).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sim.captions import ACTIVITY_PHRASES

#: Default label sets (label text as a user would type it).
DEFAULT_LABEL_SETS: dict[str, list[str]] = {
    "radhar": ["boxing", "jumping jacks", "jumping", "squats", "walking"],
    "home": [
        "walking",
        "standing",
        "sitting",
        "sitting down",
        "standing up",
        "lying down",
        "sleeping",
        "falling",
        "getting up from the floor",
        "waving",
        "boxing",
        "jumping jacks",
        "jumping",
        "squats",
        "typing",
        "swiping left",
        "swiping right",
        "push gesture",
        "pull gesture",
        "circle gesture",
    ],
}
#: Templates of the prompt ensemble; ``{}`` is a present-participle phrase ("doing squats").
PROMPT_TEMPLATES: list[str] = [
    "a person is {}",
    "someone is {}",
    "a person is {} in front of the radar",
    "one person {} in the room",
]

_EXTRA_ALIASES = {
    "walk": "walk",
    "jump": "jump",
    "squat": "squats",
    "jacks": "jumping_jacks",
    "jack": "jumping_jacks",
    "box": "boxing",
    "push gesture": "push",
    "pull gesture": "pull",
    "circle gesture": "circle",
    "swipe left": "swipe_left",
    "swipe right": "swipe_right",
    "fall": "fall",
    "sleep": "sleep",
    "sit": "sit",
    "stand": "stand",
    "wave": "wave",
}


def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for act, phrases in ACTIVITY_PHRASES.items():
        table[act] = act
        table[act.replace("_", " ")] = act
        for p in phrases:
            table.setdefault(p, act)
            if p.startswith("doing "):
                table.setdefault(p[len("doing ") :], act)
    table.update(_EXTRA_ALIASES)
    return table


ALIASES: dict[str, str] = _aliases()


def activity_of_label(label: str) -> str | None:
    """The simulator activity a label names ("jumping jacks" -> "jumping_jacks"), or None."""
    return ALIASES.get(label.strip().lower())


def label_phrases(label: str) -> list[str]:
    """Verb phrases for ``label`` (the simulator's paraphrases when it names a known activity)."""
    act = activity_of_label(label)
    if act is None:
        return [label.strip()]
    return list(ACTIVITY_PHRASES[act])


def label_prompts(label: str, templates: Sequence[str] = PROMPT_TEMPLATES) -> list[str]:
    """Every template filled with every phrase of ``label``."""
    return [t.format(p) for p in label_phrases(label) for t in templates]


@torch.no_grad()
def text_prototypes(
    model: torch.nn.Module, labels: Sequence[str], templates: Sequence[str] = PROMPT_TEMPLATES
) -> np.ndarray:
    """Prompt-ensemble prototypes ``[L, D]`` float32, L2-normalised, one per label.

    ``model`` is a :class:`training.clmp.model.CLMP` (uses ``encode_text``).
    """
    protos = []
    for label in labels:
        emb = model.encode_text(label_prompts(label, templates))  # [n, D]
        protos.append(torch.nn.functional.normalize(emb.mean(0), dim=0))
    if not protos:
        return np.zeros((0, int(model.embedding_dim)), dtype=np.float32)
    return torch.stack(protos).cpu().numpy().astype(np.float32)
