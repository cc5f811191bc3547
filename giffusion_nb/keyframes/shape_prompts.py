"""Prompts builtin:shapes-sd can draw: its caption words, taken from topics where they name them."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

from giffusion_nb.keyframes import shape_words as model_words

SHAPES_MODEL = "builtin:shapes-sd"
_KINDS = {
    "colour": tuple(model_words.COLOURS),
    "shape": model_words.SHAPES,
    "size": model_words.SIZE_WORDS,
    "background": tuple(model_words.BACKGROUNDS),
}


class ShapesPromptGenerator:
    """Captions like ``a small blue star on a white background``: each topic's colour, shape,
    size and background where it names them, the rest chosen from the seed.

    Each prompt changes the colour and the shape of the one before (unless a topic names them),
    and one background holds for the whole animation (unless a topic names one).
    """

    model_id = f"{SHAPES_MODEL} words"

    def prompts(self, topics: Sequence[str], count: int, seed: int) -> list[str]:
        """One caption per topic, or ``count`` captions without topics."""
        rng = random.Random(f"shapes/{seed}/{json.dumps(list(topics))}")
        background = rng.choices(["", "white", "gray"], weights=(0.6, 0.2, 0.2))[0]
        wanted = [shape_words(topic) for topic in topics] or [{} for _ in range(count)]
        prompts, colour, shape = [], "", ""
        for words in wanted:
            colour = words.get("colour") or _other(rng, tuple(model_words.COLOURS), colour)
            shape = words.get("shape") or _other(rng, model_words.SHAPES, shape)
            size, ground = words.get("size", ""), words.get("background", background)
            prompts.append(model_words.caption(shape, colour, size_word=size, background=ground))
        return prompts


def shape_words(topic: str) -> dict[str, str]:
    """The colour, shape, size and background words a topic names (the first of each kind)."""
    found: dict[str, str] = {}
    for word in topic.lower().replace(",", " ").split():
        singular = word[:-1] if word.endswith("s") and word[:-1] in model_words.SHAPES else word
        for kind, words in _KINDS.items():
            if singular in words:
                found.setdefault(kind, singular)
    return found


def unknown_topics_note(topics: Sequence[str]) -> str:
    """A sentence naming the topics with neither a colour nor a shape the model knows."""
    unknown = [t for t in topics if not {"colour", "shape"} & set(shape_words(t))]
    if not unknown:
        return ""
    names = ", ".join(repr(topic) for topic in unknown[:3]) + (", …" if len(unknown) > 3 else "")
    return f"{SHAPES_MODEL} draws only coloured shapes; {names} got a random colour and shape"


def _other(rng: random.Random, choices: Sequence[str], previous: str) -> str:
    """A random choice other than ``previous``."""
    return rng.choice([choice for choice in choices if choice != previous])
