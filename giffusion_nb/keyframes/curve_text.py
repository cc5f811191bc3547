"""Key-frame value strings written back from numbers, formatted as a person would type them."""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable


def step_decimals(step: float) -> int:
    """The decimals a value snapped to ``step`` needs: 2 for 0.01 or 0.25, 0 for 1 or 5."""
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"a snapping step must be a positive number, got {step!r}")
    exponent = decimal.Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def format_number(value: float, step: float) -> str:
    """``value`` at the nearest multiple of ``step``, in the fewest decimals that show it:
    ``format_number(1.0400000001, 0.01) == "1.04"``; a whole number keeps one decimal when the
    step has decimals (``"1.0"``), none when the step is whole (``"2"``); never ``-0``."""
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} into a key-frame string")
    decimals = step_decimals(step)
    snapped = round(value / step) * step
    text = f"{snapped:.{decimals}f}"
    if decimals:
        text = text.rstrip("0")
        text += "0" if text.endswith(".") else ""
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # -0.0 is 0.0
    return text


def format_curve(pairs: Iterable[tuple[int, float | str]], step: float) -> str:
    """``frame: (value)`` pairs joined by commas, in frame order: ``0: (1.0), 12: (1.04)``.

    A float value is written with ``format_number`` at ``step``; a str value (an expression, or
    a number as the user typed it) is kept as it is.
    """
    parts = []
    for frame, value in sorted(pairs, key=lambda pair: pair[0]):
        if frame < 0 or int(frame) != frame:
            raise ValueError(f"key frames are non-negative integers, got {frame!r}")
        text = value if isinstance(value, str) else format_number(value, step)
        parts.append(f"{int(frame)}: ({text})")
    return ", ".join(parts)
