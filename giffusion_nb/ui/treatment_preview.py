"""The init treatment's schedules (noise, contrast, anti-blur amount, sigma, kernel and
threshold) per frame, one axes each; every key frame a handle but the kernel's (odd numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.treatment_schedule import TREATMENT_FIELDS, treatment_schedule
from giffusion_nb.ui.curve_editor import Span
from giffusion_nb.ui.curve_previews import _FramesPlot
from giffusion_nb.ui.feature_strip import FeatureStrip, curve_terms, preview_features
from giffusion_nb.ui.plot import AudioOnsets, Markers
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


class TreatmentPreview(_FramesPlot):
    """Each treatment setting over the prompts' frames (an empty one at the value it means: the
    kernel from sigma), with a note saying when no 2D motion reads them."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("Treatment", session, onsets or AudioOnsets(), EDITABLE, (6.0, 4.6))
        grid = self.figure.subplots(3, 2, sharex=True)
        self.axes = dict(zip(TREATMENT_FIELDS, grid.flat, strict=True))
        self.lines: dict[str, Line2D] = {}
        self.markers: dict[str, Markers] = {}
        self.strips = {name: FeatureStrip(ax) for name, ax in self.axes.items()}
        for color, (name, ax) in enumerate(self.axes.items()):
            ax.set(ylabel=AXES[name][0], xlabel="frame" if color >= 4 else "")
            self.markers[name] = Markers(ax)
            style = {"drawstyle": "steps-mid"} if name == "anti_blur_kernel" else {}
            self.lines[name] = ax.plot([], [], color=f"C{color}", **style)[0]
            if name in EDITABLE:
                self._editor(ax, name, self.lines[name], f"C{color}")
        self.key_frame_frames = []

    def update(self) -> None:
        """Plot each setting over the prompts' frames; errors under the plot."""
        prompts_error = self._frames()
        if self.num_frames is None:
            self._note(str(prompts_error), error=True)
            return
        s, count = self.session.settings, self.num_frames
        frames, onsets, errors = np.arange(count), self.onsets.onset_frames(s), []
        features = preview_features(s)
        for name, line in self.lines.items():
            text = getattr(s, name)
            strings = {name: text}
            if name == "anti_blur_kernel" and not text.strip():
                strings["anti_blur_sigma"] = s.anti_blur_sigma  # the kernel follows sigma
            try:
                schedule = treatment_schedule(count, **strings, features=features)
            except SettingsError as err:
                if err.field == name:
                    errors.append(err)
            else:
                line.set_data(frames, getattr(schedule, AXES[name][1]))
            if name in self.editors:
                self.editors[name].features = features
                self.editors[name].show(text, [Span(0, count - 1)])
            self.strips[name].show(curve_terms([text]), features, count)
            self.markers[name].set(self.key_frame_frames, onsets)
        first = prompts_error or (errors[0] if errors else None)
        if first is not None:
            self._note(str(first), error=True)
        else:
            self._note(_summary(s, count))
        self._hint("An empty curve leaves its part out; press its line to start one.")
        self._redraw(self.axes.values(), count)


def _summary(settings: Settings, count: int) -> str:
    """What the treatment does over ``count`` frames, and whether anything reads it."""
    used = [name for name in TREATMENT_FIELDS if getattr(settings, name).strip()]
    if not used:
        return "no init treatment: the noise, contrast and anti-blur amount are empty"
    moving = any(getattr(settings, name).strip() for name in MOTION_FIELDS)
    unused = "" if moving else " (unused now: no 2D motion)"
    return f"init treatment over {count} frames: {', '.join(used)}{unused}"
