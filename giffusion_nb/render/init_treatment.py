"""A render's init treatment: each 2D-motion frame's init (the warped previous frame, or with a
cadence the warped diffused frame before) given its frame's contrast, anti-blur and noise, the
noise drawn from a generator of the frame's seed, so a frame depends only on the settings and
its index (resume, batch size and Ray change nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.seeds import settings_seeds
from giffusion_nb.keyframes.treatment_schedule import (
    TREATMENT_FIELDS,
    TreatmentSchedule,
    treatment_schedule,
)
from giffusion_nb.media.init_treatment import treat
from giffusion_nb.settings import FrozenSettings

_NOISE_STREAM = 0x696E6974  # keeps the init's noise apart from the key-frame noise of a seed


@dataclass(frozen=True, eq=False)
class InitTreatment:
    """Every frame's treatment values and, with noise, every frame's seed."""

    schedule: TreatmentSchedule
    seeds: tuple[int, ...] = ()

    def apply(self, frame: int, image: Image.Image) -> Image.Image:
        """Frame ``frame``'s init ``image`` treated (the same image where nothing changes)."""
        step = self.schedule.step(frame)
        if step.is_identity():
            return image
        generator = torch.Generator("cpu")
        if step.noise:
            generator.manual_seed(noise_seed(self.seeds[frame]))
        return treat(image, step, generator)


def noise_seed(seed: int) -> int:
    """The seed of a frame's init noise, drawn from the frame's ``seed`` (a stream of its own,
    not the key-frame noise that the same seed gives)."""
    state = np.random.SeedSequence([seed, _NOISE_STREAM]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def init_treatment(
    settings: FrozenSettings, num_frames: int, features: FrameFeatures | None
) -> InitTreatment | None:
    """The settings' init treatment (``None`` when it changes no frame)."""
    strings = {name: getattr(settings, name) for name in TREATMENT_FIELDS}
    schedule = treatment_schedule(num_frames, **strings, features=features)
    if not schedule.is_active():
        return None
    seeds: tuple[int, ...] = ()
    if schedule.has_noise:
        seeds = tuple(settings_seeds(settings, range(num_frames), features))
    return InitTreatment(schedule, seeds)
