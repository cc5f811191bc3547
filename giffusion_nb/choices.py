"""The vocabularies of the choice settings, in one place (no heavy imports), and ``Choice``,
the trait that holds one of them."""

from __future__ import annotations

from typing import Any

from traitlets import Enum

INTERPOLATION_TYPES = ("linear", "sine", "curve", "audio")
PACINGS = ("schedule", "even")
OUTPUT_FORMATS = ("gif", "mp4")
AUDIO_COMPONENTS = ("percussive", "harmonic", "both")
MEL_REDUCERS = ("max", "mean", "median")
PADDING_MODES = ("border", "reflection", "zeros")


class Choice(Enum):
    """One of a fixed set of names, read without surrounding spaces and in any case
    (`` GIF `` is ``gif``), so a saved setting, a file name and the code agree."""

    def canonical(self, value: Any) -> str | None:
        """The name ``value`` stands for, or None when it is none of them."""
        if not isinstance(value, str):
            return None
        wanted = value.strip().lower()
        return next((name for name in self.values if name.lower() == wanted), None)

    def validate(self, obj: Any, value: Any) -> str:
        name = self.canonical(value)
        if name is None:
            self.error(obj, value)
        return name
