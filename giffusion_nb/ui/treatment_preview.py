"""The init treatment's schedules (noise, contrast, anti-blur amount, sigma, kernel and
threshold) per frame, one axes each; every key frame a handle but the kernel's (odd numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.treatment_schedule import TREATMENT_FIELDS, treatment_schedule
from giffusion_nb.ui.curve_grid import CurveGrid
from giffusion_nb.ui.plot import AudioOnsets
from giffusion_nb.validation import MOTION_FIELDS

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession
    from giffusion_nb.settings import Settings

# Each setting's axes label and the schedule's array it plots
AXES = {
    "noise_schedule": ("noise", "noise"),
    "contrast_schedule": ("contrast", "contrast"),
    "anti_blur_amount": ("anti-blur", "amount"),
    "anti_blur_sigma": ("sigma (px)", "sigma"),
    "anti_blur_kernel": ("kernel (px)", "kernel"),
    "anti_blur_threshold": ("threshold", "threshold"),
}
EDITABLE = tuple(name for name in TREATMENT_FIELDS if name != "anti_blur_kernel")


class TreatmentPreview(CurveGrid):
    """Each treatment setting over the prompts' frames (an empty one at the value it means: the
    kernel from sigma), with a note saying when no 2D motion reads them."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        labels = {name: label for name, (label, _array) in AXES.items()}
        super().__init__(
            "Treatment",
            session,
            onsets,
            labels,
            columns=2,
            size=(6.0, 4.6),
            editable=EDITABLE,
            stepped={"anti_blur_kernel"},
        )

    def _curve(
        self, name: str, settings: Settings, count: int, features: FrameFeatures | None
    ) -> np.ndarray:
        strings = {name: getattr(settings, name)}
        if name == "anti_blur_kernel" and not strings[name].strip():
            strings["anti_blur_sigma"] = settings.anti_blur_sigma  # the kernel follows sigma
        schedule = treatment_schedule(count, **strings, features=features)
        return getattr(schedule, AXES[name][1])

    def _summary(self, settings: Settings, count: int, values: dict[str, np.ndarray]) -> str:
        return _summary(settings, count)

    def _hint_text(self, settings: Settings) -> str:
        return "An empty curve leaves its part out; press its line to start one."


def _summary(settings: Settings, count: int) -> str:
    """What the treatment does over ``count`` frames, and whether anything reads it."""
    used = [name for name in TREATMENT_FIELDS if getattr(settings, name).strip()]
    if not used:
        return "no init treatment: the noise, contrast and anti-blur amount are empty"
    moving = any(getattr(settings, name).strip() for name in MOTION_FIELDS)
    unused = "" if moving else " (unused now: no 2D motion)"
    return f"init treatment over {count} frames: {', '.join(used)}{unused}"
