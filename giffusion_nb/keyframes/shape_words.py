"""The words of builtin:shapes-sd's captions (colours, shapes, sizes, backgrounds): what its prompts
may say, for the inspiration and the shapes model's data; no torch."""

from __future__ import annotations

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "yellow": (235, 215, 40),
    "green": (40, 190, 60),
    "cyan": (40, 200, 215),
    "blue": (40, 80, 230),
    "purple": (160, 60, 220),
}
SHAPES = ("circle", "square", "triangle", "ring", "star")
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
}
SIZE_WORDS = ("small", "large")
WORDS = ("a", "on", "background", *SIZE_WORDS, *COLOURS, *SHAPES, *BACKGROUNDS)


def caption(shape: str, colour: str, *, size_word: str = "", background: str = "") -> str:
    """``a small red circle on a white background``; size and background are optional."""
    words = ["a", size_word, colour, shape]
    text = " ".join(word for word in words if word)
    return f"{text} on a {background} background" if background else text
