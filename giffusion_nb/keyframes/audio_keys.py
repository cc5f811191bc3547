"""Where audio key frames go (``onsets``, ``beats``, ``4 beats``, ``2 bars of 3``), and prompts
assigned to key frames in order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import NEGATIVE_MARK, parse_prompts

FIELD = "audio_key_frames"
MAX_EVERY = 1000
MAX_BEATS_PER_BAR = 64
_SOURCE = re.compile(
    r"\s*(?:every\s+)?(?:(?P<every>[0-9]{1,4})\s+)?(?P<unit>onsets?|beats?|bars?)"
    r"(?:\s+of\s+(?P<per_bar>[0-9]{1,2}))?\s*",
    re.IGNORECASE,
)
EXPECTED = "onsets, beats, `4 beats` (every 4th beat), bars or `2 bars` (`2 bars of 3` in 3/4)"


@dataclass(frozen=True)
class KeySource:
    """Key frames at the audio's onsets, or on every ``every``-th beat (``unit`` beats) or
    bar (``unit`` bars, ``beats_per_bar`` beats each, counted from the first beat)."""

    unit: str = "onsets"  # onsets, beats or bars
    every: int = 1
    beats_per_bar: int = 4

    @property
    def beat_step(self) -> int:
        """Beats from one key frame to the next."""
        return self.every * (self.beats_per_bar if self.unit == "bars" else 1)

    def describe(self) -> str:
        """``onsets``, ``every beat``, ``every 2 bars (4 beats each)``."""
        if self.unit == "onsets":
            return "onsets"
        one = self.unit[:-1]
        what = f"every {one}" if self.every == 1 else f"every {self.every} {self.unit}"
        return what + (f" ({self.beats_per_bar} beats each)" if self.unit == "bars" else "")


def parse_key_source(text: str, *, field: str = FIELD) -> KeySource:
    """``onsets``, ``beats``, ``every 4 beats``, ``bars``, ``2 bars of 3``, …; SettingsError
    naming ``field`` for anything else."""
    match = _SOURCE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        found = text if not isinstance(text, str) or len(text) <= 30 else text[:30] + "..."
        raise SettingsError(field, f"expected {EXPECTED}, found {found!r}")
    unit = match["unit"].lower().rstrip("s") + "s"
    every = int(match["every"] or 1)
    per_bar = int(match["per_bar"] or 4)
    if unit == "onsets" and (match["every"] or match["per_bar"]):
        raise SettingsError(field, f"onsets are all used: expected {EXPECTED}, found {text!r}")
    if match["per_bar"] and unit != "bars":
        raise SettingsError(field, f"`of N` counts the beats of a bar: expected {EXPECTED}")
    if not 1 <= every <= MAX_EVERY:
        raise SettingsError(field, f"expected every 1 to {MAX_EVERY} {unit}, found {every}")
    if not 1 <= per_bar <= MAX_BEATS_PER_BAR:
        raise SettingsError(
            field, f"expected 1 to {MAX_BEATS_PER_BAR} beats a bar, found {per_bar}"
        )
    return KeySource(unit, every, per_bar)


def prompt_texts(text: str) -> list[str]:
    """The prompts of key-frame prompt text in frame order, each with its ``--neg`` part."""
    return [
        key.prompt if key.negative is None else f"{key.prompt} {NEGATIVE_MARK} {key.negative}"
        for key in parse_prompts(text)
    ]


def assign_prompts(frames: Sequence[int], prompts: Sequence[str]) -> tuple[str, str]:
    """``frame: prompt`` lines putting ``prompts`` on ``frames`` in order, starting again from
    the first prompt when there are more frames; and a sentence saying how they were used."""
    prompts = [prompt.strip() for prompt in prompts if prompt.strip()]
    if not prompts:
        raise SettingsError("prompts", "expected prompts to put on the key frames, found none")
    lines = [f"{frame}: {prompts[index % len(prompts)]}" for index, frame in enumerate(frames)]
    if len(prompts) > len(frames):
        note = (
            f"{len(prompts)} prompts for {len(frames)} key frames: prompts {len(frames) + 1} "
            f"to {len(prompts)} have no key frame and were left out"
        )
    elif len(prompts) < len(frames):
        note = f"{len(prompts)} prompts over {len(frames)} key frames, repeated in order"
    else:
        note = f"{len(prompts)} prompts, one a key frame"
    return "\n".join(lines), note
