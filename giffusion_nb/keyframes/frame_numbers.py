"""A number setting that may also be a key-frame string (guidance scale, denoising steps): its
value at every frame, checked against the setting's limits."""

from __future__ import annotations

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values


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
