"""The sampling settings per frame: guidance scale and denoising steps (a number or a key-frame
string, each key frame a handle) and each frame's seed as ``seed_behavior`` steps it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.frame_numbers import frame_numbers
from giffusion_nb.keyframes.seeds import frame_seeds
from giffusion_nb.ui.curve_editor import Span
from giffusion_nb.ui.curve_limits import CURVE_LIMITS
from giffusion_nb.ui.curve_previews import _FramesPlot
from giffusion_nb.ui.feature_strip import FeatureStrip, curve_terms, preview_features
from giffusion_nb.ui.plot import AudioOnsets, Markers, frames_text
from giffusion_nb.validation import check_setting

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession
    from giffusion_nb.settings import Settings

EDITABLE = ("guidance_scale", "num_inference_steps")
SEED_FIELDS = ("seed", "seed_behavior", "seed_iter_n", "seed_schedule")
# Every setting this preview reads (the previews' Tab watches them)
SAMPLING_SETTINGS = (*EDITABLE, *SEED_FIELDS, "use_fixed_latent")
_AXES = {"guidance_scale": "guidance", "num_inference_steps": "steps", "seeds": "seed"}


class SamplingPreview(_FramesPlot):
    """Guidance scale, denoising steps and seed of every frame over the prompts' frames; a
    plain number is one handle at frame 0 that moves it up and down (as strength's)."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("Sampling", session, onsets or AudioOnsets(), EDITABLE, (6.0, 4.6))
        grid = self.figure.subplots(3, 1, sharex=True)
        self.axes = dict(zip(_AXES, grid.flat, strict=True))
        self.lines: dict[str, Line2D] = {}
        self.markers: dict[str, Markers] = {}
        self.strips = {name: FeatureStrip(ax) for name, ax in self.axes.items()}
        for color, (name, ax) in zip(("C0", "C8", "C9"), self.axes.items(), strict=True):
            ax.set(ylabel=_AXES[name], xlabel="frame" if name == "seeds" else "")
            self.markers[name] = Markers(ax)
            style = {} if name == "guidance_scale" else {"drawstyle": "steps-mid"}
            self.lines[name] = ax.plot([], [], color=color, **style)[0]
            if name in EDITABLE:
                self._editor(ax, name, self.lines[name], color)
            if name != "guidance_scale":
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.key_frame_frames = []

    def update(self) -> None:
        """Plot each frame's guidance, steps and seed; the first error under the plot."""
        prompts_error = self._frames()
        if self.num_frames is None:
            self._note(str(prompts_error), error=True)
            return
        s, count = self.session.settings, self.num_frames
        frames, onsets, errors = np.arange(count), self.onsets.onset_frames(s), []
        features = preview_features(s)
        values: dict[str, np.ndarray] = {}
        for name in self.lines:
            try:
                values[name] = _per_frame(s, name, count, features)
            except SettingsError as err:
                errors.append(err)
            else:
                self.lines[name].set_data(frames, values[name])
            if name in self.editors:
                self.editors[name].features = features
                self.editors[name].show(getattr(s, name), [Span(0, count - 1)])
            texts = [s.seed_schedule] if name == "seeds" else [getattr(s, name)]
            self.strips[name].show(curve_terms(texts), features, count)
            self.markers[name].set(self.key_frame_frames, onsets)
        self.axes["seeds"].set_ylabel(f"seed ({s.seed_behavior})")
        first = prompts_error or (errors[0] if errors else None)
        if first is not None:
            self._note(str(first), error=True)
        else:
            self._note(_summary(s, values, self.key_frame_frames))
        plain = [name for name in EDITABLE if not isinstance(getattr(s, name), str)]
        self._hint(
            f"A plain number ({', '.join(plain)}): its handle moves up and down." if plain else ""
        )
        self._redraw(self.axes.values(), count)


def _per_frame(
    settings: Settings, name: str, count: int, features: FrameFeatures | None
) -> np.ndarray:
    """One axes' values at each of ``count`` frames, as the render reads them."""
    if name in EDITABLE:
        limits = CURVE_LIMITS[name]
        whole = name == "num_inference_steps"
        value = getattr(settings, name)
        return frame_numbers(
            value, count, name, limits.low, limits.high, whole=whole, features=features
        )
    for field in (*SEED_FIELDS, "use_fixed_latent"):
        check_setting(settings, field)
    seeds = frame_seeds(
        settings.seed_behavior,
        settings.seed,
        range(count),
        every=settings.seed_iter_n,
        schedule=settings.seed_schedule,
        features=features,
    )
    return np.asarray(seeds, dtype=np.int64)


def _summary(settings: Settings, values: dict[str, np.ndarray], key_frames: list[int]) -> str:
    """``guidance 7.5 → 3 over 61 frames; 20–40 steps; seeds iter from 42 (…)``."""
    guidance, steps = values["guidance_scale"], values["num_inference_steps"]
    first, last = float(guidance[0]), float(guidance[-1])
    ends = f"{first:g}" if first == last else f"{first:g} → {last:g}"
    if guidance.min() < min(first, last) or guidance.max() > max(first, last):
        ends += f" (from {guidance.min():g} to {guidance.max():g})"
    low, high = int(steps.min()), int(steps.max())
    counts = f"{low}–{high}" if low != high else f"{low}"
    behavior = settings.seed_behavior
    every = f" every {settings.seed_iter_n} frames" if settings.seed_iter_n != 1 else ""
    start = "" if behavior == "schedule" else f" from {settings.seed}"
    seeds = values["seeds"]
    keys = (
        f"every key frame's noise from seed {settings.seed} (use_fixed_latent)"
        if settings.use_fixed_latent
        else f"key frames take {frames_text([int(seeds[frame]) for frame in key_frames], 6)}"
    )
    return (
        f"guidance {ends} over {len(guidance)} frames; {counts} steps "
        f"({int(steps.sum())} in all); seeds {behavior}{every}{start}: {keys}"
    )
