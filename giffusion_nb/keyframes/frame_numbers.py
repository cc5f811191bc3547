"""A number setting that may also be a key-frame string (guidance scale, denoising steps): its
value at every frame, checked against the setting's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values


@dataclass(frozen=True)
class NumberLimits:
    """Where a number setting's values lie at every frame: ``low..high``, whole numbers with
    ``whole``."""

    low: float
    high: float
    whole: bool = False


# The number settings that may also be key-frame strings, and their limits.
NUMBER_LIMITS = {
    "guidance_scale": NumberLimits(0, 100),
    "num_inference_steps": NumberLimits(1, 1000, whole=True),
}


def setting_numbers(
    settings: Any, name: str, num_frames: int, features: FrameFeatures | None = None
) -> np.ndarray:
    """``frame_numbers`` of the setting ``name`` (one of ``NUMBER_LIMITS``) of ``settings``."""
    limits = NUMBER_LIMITS[name]
    value = getattr(settings, name)
    return frame_numbers(
        value, num_frames, name, limits.low, limits.high, whole=limits.whole, features=features
    )


def frame_numbers(
    value: float | str,
    num_frames: int,
    field: str,
    low: float,
    high: float,
    *,
    whole: bool = False,
    features: FrameFeatures | None = None,
) -> np.ndarray:
    """``value`` (a number, or a key-frame string) at each of ``num_frames`` frames, read-only;
    each in ``low..high`` (and with ``whole`` a whole number: steps between key frames are
    rounded), or a ``SettingsError`` naming ``field`` and the first frame out of them."""
    if isinstance(value, str):
        values = curve_values(value, num_frames, field=field, features=features)
    else:
        values = np.full(num_frames, float(value))
    if whole:
        values = np.rint(values)
    bad = np.flatnonzero(~((values >= low) & (values <= high)))
    if bad.size:
        frame = int(bad[0])
        where = f"frame {frame} has {float(values[frame]):g}" if isinstance(value, str) else "got"
        shown = "" if isinstance(value, str) else f" {float(values[frame]):g}"
        raise SettingsError(field, f"expected a value between {low:g} and {high:g}, {where}{shown}")
    values = values.astype(np.int64) if whole else values
    values.setflags(write=False)
    return values
