"""The sampling settings per frame: guidance scale and denoising steps (a number or a key-frame
string, each key frame a handle) and each frame's seed as ``seed_behavior`` steps it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import MaxNLocator

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.frame_numbers import setting_numbers
from giffusion_nb.keyframes.seeds import settings_seeds
from giffusion_nb.ui.curve_grid import CurveGrid
from giffusion_nb.ui.plot import AudioOnsets, frames_text
from giffusion_nb.validation import check_setting

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession
    from giffusion_nb.settings import Settings

EDITABLE = ("guidance_scale", "num_inference_steps")
SEED_FIELDS = ("seed", "seed_behavior", "seed_iter_n", "seed_schedule")
# Every setting this preview reads (the previews' Tab watches them)
SAMPLING_SETTINGS = (*EDITABLE, *SEED_FIELDS, "use_fixed_latent")
_AXES = {"guidance_scale": "guidance", "num_inference_steps": "steps", "seeds": "seed"}


class SamplingPreview(CurveGrid):
    """Guidance scale, denoising steps and seed of every frame over the prompts' frames; a
    plain number is one handle at frame 0 that moves it up and down (as strength's)."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__(
            "Sampling",
            session,
            onsets,
            _AXES,
            columns=1,
            size=(6.0, 4.6),
            editable=EDITABLE,
            stepped={"num_inference_steps", "seeds"},
            colors=("C0", "C8", "C9"),
        )
        for name in ("num_inference_steps", "seeds"):
            self.axes[name].yaxis.set_major_locator(MaxNLocator(integer=True))

    def update(self) -> None:
        """Plot each frame's guidance, steps and seed; the first error under the plot."""
        self.axes["seeds"].set_ylabel(f"seed ({self.session.settings.seed_behavior})")
        super().update()

    def _curve(
        self, name: str, settings: Settings, count: int, features: FrameFeatures | None
    ) -> np.ndarray:
        return _per_frame(settings, name, count, features)

    def _texts(self, name: str, settings: Settings) -> list[str]:
        return [settings.seed_schedule] if name == "seeds" else [str(getattr(settings, name))]

    def _summary(self, settings: Settings, count: int, values: dict[str, np.ndarray]) -> str:
        return _summary(settings, values, self.key_frame_frames)

    def _hint_text(self, settings: Settings) -> str:
        plain = [name for name in EDITABLE if not isinstance(getattr(settings, name), str)]
        if not plain:
            return ""
        return f"A plain number ({', '.join(plain)}): its handle moves up and down."


def _per_frame(
    settings: Settings, name: str, count: int, features: FrameFeatures | None
) -> np.ndarray:
    """One axes' values at each of ``count`` frames, as the render reads them."""
    if name in EDITABLE:
        return setting_numbers(settings, name, count, features)
    for field in (*SEED_FIELDS, "use_fixed_latent"):
        check_setting(settings, field)
    return np.asarray(settings_seeds(settings, range(count), features), dtype=np.int64)


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
