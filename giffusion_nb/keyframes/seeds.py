"""Seed behaviours, as Deforum steps its seed from frame to frame: the seed of every frame from
the ``seed`` setting, the behaviour and (for ``schedule``) a key-frame string of seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from giffusion_nb.choices import SEED_BEHAVIORS
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.keyframes.plan import MAX_SEED

RANDOM_SEEDS = 2**32  # Deforum's random seeds are 0 .. 2^32 - 1


def settings_seeds(
    settings: Any, frames: Sequence[int], features: FrameFeatures | None = None
) -> list[int]:
    """``frame_seeds`` of ``frames`` by a settings object's ``seed``, ``seed_behavior``,
    ``seed_iter_n`` and ``seed_schedule``."""
    return frame_seeds(
        settings.seed_behavior,
        settings.seed,
        frames,
        every=settings.seed_iter_n,
        schedule=settings.seed_schedule,
        features=features,
    )


def frame_seeds(
    behavior: str,
    seed: int,
    frames: Sequence[int],
    *,
    every: int = 1,
    schedule: str = "",
    features: FrameFeatures | None = None,
) -> list[int]:
    """The seed of each frame of ``frames`` (indices), frame 0 taking ``seed``:

    - ``iter``: one more every ``every`` frames (``seed + frame // every``);
    - ``fixed``: ``seed`` throughout;
    - ``random``: a seed drawn for each frame, from ``seed`` and the frame's index (the same
      every render, unlike Deforum's);
    - ``ladder``: +2, -1, +2, -1, … (seed, seed + 2, seed + 1, seed + 3, …);
    - ``alternate``: +1, -1, … (seed, seed + 1, seed, …);
    - ``schedule``: ``schedule``'s value at each frame, a whole number.
    """
    frames = np.asarray(frames, dtype=np.int64)
    if behavior == "iter":
        values = seed + frames // every
    elif behavior == "fixed":
        values = np.full(len(frames), seed)
    elif behavior == "ladder":
        values = seed + np.where(frames % 2, (frames + 3) // 2, frames // 2)
    elif behavior == "alternate":
        values = seed + frames % 2
    elif behavior == "random":
        return [
            seed if frame == 0 else int(np.random.default_rng([seed, frame]).integers(RANDOM_SEEDS))
            for frame in frames.tolist()
        ]
    elif behavior == "schedule":
        count = int(frames.max()) + 1 if len(frames) else 0
        seeds = scheduled_seeds(schedule, count, features)
        return [seeds[frame] for frame in frames.tolist()]
    else:
        raise SettingsError("seed_behavior", f"expected one of {', '.join(SEED_BEHAVIORS)}")
    return [int(value) % (MAX_SEED + 1) for value in values]


def scheduled_seeds(text: str, num_frames: int, features: FrameFeatures | None = None) -> list[int]:
    """The whole-number seeds a ``seed_schedule`` key-frame string gives each frame."""
    if not text.strip():
        raise SettingsError(
            "seed_schedule", "seed_behavior is `schedule`: give seeds like `0: (7), 24: (99)`"
        )
    values = curve_values(text, num_frames, field="seed_schedule", features=features)
    for frame, value in enumerate(values):
        if not (float(value).is_integer() and 0 <= value <= MAX_SEED):
            raise SettingsError(
                "seed_schedule",
                f"frame {frame} has seed {float(value)!r}; expected a whole number from 0 to "
                f"{MAX_SEED} (seeds between key frames are interpolated: give each frame's key "
                "frame, or equal neighbours)",
            )
    return [int(value) for value in values]
