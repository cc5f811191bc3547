"""The one table of how each editable curve snaps and where its values stop."""

from __future__ import annotations

import math
from dataclasses import dataclass

from giffusion_nb.keyframes.curve_text import format_number


@dataclass(frozen=True)
class CurveLimits:
    """How a dragged value of one setting snaps (``step``) and the values it may take.

    ``low`` and ``high`` are inclusive; ``above`` is an exclusive lower bound (zoom > 0, where
    the lowest value a drag gives is one step). ``still`` is the value an empty string means
    (motion only; None: the setting cannot be empty). ``unit`` follows the numbers in notes.
    """

    label: str
    step: float
    low: float = -math.inf
    high: float = math.inf
    above: float | None = None
    still: float | None = None
    unit: str = ""

    def snap(self, value: float) -> float:
        """``value`` at the nearest multiple of ``step``, kept inside the limits."""
        lowest = self.low if self.above is None else self.above + self.step
        snapped = round(value / self.step) * self.step
        snapped = min(max(snapped, lowest), self.high)
        return float(format_number(snapped, self.step))  # no 1.0400000000000001

    def describe(self) -> str:
        """``t to 0.01 in [0, 1]``: the step and limits, as the preview's hint shows them."""
        text = f"{self.label} to {format_number(self.step, self.step)}{self.unit}"
        if self.above is not None:
            return f"{text} above {self.above:g}"
        if math.isfinite(self.low) and math.isfinite(self.high):
            return f"{text} in [{self.low:g}, {self.high:g}]"
        return text


# These mirror validation.py's checks of the same settings (a test holds them together).
CURVE_LIMITS = {
    "interpolation_args": CurveLimits("t", 0.01, low=0.0, high=1.0),
    "strength": CurveLimits("strength", 0.01, low=0.0, high=1.0),
    "guidance_scale": CurveLimits("guidance", 0.1, low=0.0, high=100.0),
    "num_inference_steps": CurveLimits("steps", 1.0, low=1.0, high=1000.0),
    "zoom": CurveLimits("zoom", 0.01, above=0.0, still=1.0),
    "angle": CurveLimits("angle", 0.1, still=0.0, unit="°"),
    "translate_x": CurveLimits("translate_x", 0.1, still=0.0, unit=" px"),
    "translate_y": CurveLimits("translate_y", 0.1, still=0.0, unit=" px"),
    "perspective_flip_theta": CurveLimits("theta", 0.1, still=0.0, unit="°"),
    "perspective_flip_phi": CurveLimits("phi", 0.1, low=-89.9, high=89.9, still=0.0, unit="°"),
    "perspective_flip_gamma": CurveLimits("gamma", 0.1, low=-89.9, high=89.9, still=0.0, unit="°"),
    "perspective_flip_fv": CurveLimits("fv", 1.0, above=0.0, high=179.0, still=53.0, unit="°"),
    "noise_schedule": CurveLimits("noise", 0.005, low=0.0, high=1.0, still=0.0),
    "contrast_schedule": CurveLimits("contrast", 0.01, high=10.0, above=0.0, still=1.0),
    "anti_blur_amount": CurveLimits("anti-blur", 0.05, low=0.0, high=10.0, still=0.0),
    "anti_blur_sigma": CurveLimits("sigma", 0.1, high=40.0, above=0.0, still=1.0, unit=" px"),
    "anti_blur_threshold": CurveLimits("threshold", 1.0, low=0.0, high=255.0, still=0.0),
}
