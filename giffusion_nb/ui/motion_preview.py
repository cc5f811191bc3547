"""The 2D motion per frame: zoom, angle, translation and the perspective flip, one axes each,
every key frame a handle."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.media.motion import motion_schedule
from giffusion_nb.ui.curve_grid import CurveGrid
from giffusion_nb.ui.plot import AudioOnsets

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession
    from giffusion_nb.settings import Settings

AXES = {
    "zoom": "zoom",
    "angle": "angle (°)",
    "translate_x": "x (px)",
    "translate_y": "y (px)",
    "perspective_flip_theta": "θ roll (°)",
    "perspective_flip_phi": "φ tilt (°)",
    "perspective_flip_gamma": "γ pan (°)",
    "perspective_flip_fv": "field of view (°)",
}


class MotionPreview(CurveGrid):
    """Each motion string over the prompts' frames (an empty one holds still)."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__(
            "Motion", session, onsets, AXES, columns=2, size=(6.0, 6.4), editable=list(AXES)
        )

    def _curve(
        self, name: str, settings: Settings, count: int, features: FrameFeatures | None
    ) -> np.ndarray:
        text = getattr(settings, name)
        return motion_schedule(count, **{name: text}, features=features).values(name)

    def _summary(self, settings: Settings, count: int, values: dict[str, np.ndarray]) -> str:
        if any(getattr(settings, name).strip() for name in AXES):
            return f"2D motion over {count} frames"
        return "no 2D motion: zoom, angle, translation and the perspective flip are empty"

    def _hint_text(self, settings: Settings) -> str:
        return "An empty curve holds still; press its line to start one."
