"""Frame rates as exact fractions: frame k is shown at exactly k / fps seconds.

The ``fps`` setting holds a number (JSON round-trips it exactly); ``frame_rate`` reads it as
the fraction it stands for: whole numbers as they are, the video rates N x 1000/1001 (29.97,
23.976, 59.94, or the float of 30000/1001) as those fractions, other decimals as written
(12.5 is 25/2). Times computed from it never accumulate rounding: each is one product.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Real

import numpy as np
from traitlets import Float

from giffusion_nb.errors import SettingsError

FPS_FIELD = "fps"
_NTSC_TOLERANCE = 0.0015  # 29.97 is 30000/1001 - 0.00003; 119.88 is 120000/1001 - 0.00012
_DECIMAL = r"([0-9]{1,30}(?:\.[0-9]{0,30})?)"  # 30 digits at most, as any number
_FRACTION_TEXT = re.compile(rf"\s*{_DECIMAL}\s*/\s*{_DECIMAL}\s*")


class FrameRate(Float):
    """The ``fps`` trait: a number; as text also a fraction such as ``30000/1001``."""


def frame_rate(fps: float | Fraction) -> Fraction:
    """The exact rate ``fps`` stands for (see the module's docstring); ``SettingsError`` on
    ``fps`` for anything that is not a positive finite number."""
    if isinstance(fps, Fraction):
        if fps <= 0:
            raise SettingsError(
                FPS_FIELD, f"expected a positive number of frames per second, got {fps}"
            )
        return fps
    if isinstance(fps, bool) or not isinstance(fps, Real) or not math.isfinite(fps) or fps <= 0:
        raise SettingsError(
            FPS_FIELD, f"expected a positive number of frames per second, got {fps!r}"
        )
    value = float(fps)
    if value.is_integer():
        return Fraction(int(value))
    base = round(value * 1.001)
    if base > 0 and abs(value - base * 1000 / 1001) < _NTSC_TOLERANCE:
        return Fraction(base * 1000, 1001)
    simple = Fraction(value).limit_denominator(1001)
    if abs(float(simple) - value) <= 1e-12 * value:
        return simple  # the float of a small fraction (10/3, 25/2)
    return Fraction(repr(value))  # the decimal as written


def fraction_value(value: object, field: str = FPS_FIELD) -> float | None:
    """The float of a fraction (``Fraction(30000, 1001)``, or typed: ``"30000/1001"``); None
    for anything else (a number, or its text, is read as any other number)."""
    if isinstance(value, Fraction):
        return float(value)
    match = _FRACTION_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    top, bottom = Fraction(match[1]), Fraction(match[2])
    if bottom == 0:
        raise SettingsError(field, f"the frame rate {value.strip()!r} divides by zero")
    return float(top / bottom)


def frame_times(count: int, fps: float | Fraction, start: int = 0) -> np.ndarray:
    """The times (float64 seconds) of frames ``start .. start + count - 1``: each the float
    nearest ``k * den / num``, one product and one division, nothing summed."""
    rate = frame_rate(fps)
    frames = np.arange(start, start + count, dtype=np.float64)
    return frames * rate.denominator / rate.numerator


def frame_at(seconds: float, fps: float | Fraction) -> int:
    """The frame nearest the time ``seconds`` (halves round up), rounded once and exactly."""
    return math.floor(Fraction(seconds) * frame_rate(fps) + Fraction(1, 2))


def frames_covering(seconds: float, fps: float | Fraction) -> int:
    """Frames whose times start inside ``seconds`` of audio: ceil(seconds * fps), at least 1
    (a product within a millionth of a frame of a whole number counts as that number)."""
    exact = Fraction(seconds) * frame_rate(fps)
    whole = round(exact)
    frames = whole if abs(exact - whole) < Fraction(1, 10**6) else math.ceil(exact)
    return max(1, frames)
