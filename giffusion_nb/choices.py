"""The vocabularies of the choice settings, in one place (no heavy imports), and ``Choice``,
the trait that holds one of them."""

from __future__ import annotations

from typing import Any

from traitlets import Enum

from giffusion_nb.errors import SettingsError

INTERPOLATION_TYPES = ("linear", "sine", "curve", "audio")
PACINGS = ("schedule", "even")
OUTPUT_FORMATS = ("gif", "mp4")
AUDIO_COMPONENTS = ("percussive", "harmonic", "both")
MEL_REDUCERS = ("max", "mean", "median")
PADDING_MODES = ("border", "reflection", "zeros")
VIDEO_JOINS = ("overlap", "condition")
COLOR_COHERENCE = ("none", "first", "previous", "image")
COLOR_SPACES = ("lab", "hsv", "rgb")
CADENCE_WARPS = ("motion", "flow")
FLOW_METHODS = ("dis", "farneback")
SEED_BEHAVIORS = ("iter", "fixed", "random", "ladder", "alternate", "schedule")
# The schedulers offered by name (any other diffusers scheduler class name works too).
SCHEDULERS = {
    "DDIM": "DDIMScheduler",
    "DDPM": "DDPMScheduler",
    "PNDM": "PNDMScheduler",
    "LMS": "LMSDiscreteScheduler",
    "Euler": "EulerDiscreteScheduler",
    "Euler ancestral": "EulerAncestralDiscreteScheduler",
    "DPM++ multistep": "DPMSolverMultistepScheduler",
    "DPM++ singlestep": "DPMSolverSinglestepScheduler",
    "KDPM2 ancestral": "KDPM2AncestralDiscreteScheduler",
    "DEIS": "DEISMultistepScheduler",
    "UniPC": "UniPCMultistepScheduler",
    "LCM": "LCMScheduler",
}


class Choice(Enum):
    """One of a fixed set of names, read without surrounding spaces and in any case
    (`` GIF `` is ``gif``), so a saved setting, a file name and the code agree."""

    def canonical(self, value: Any) -> str | None:
        """The name ``value`` stands for, or None when it is none of them."""
        if not isinstance(value, str):
            return None
        wanted = value.strip().lower()
        return next((name for name in self.values if name.lower() == wanted), None)

    def validate(self, obj: Any, value: Any) -> str:
        name = self.canonical(value)
        if name is None:
            self.error(obj, value)
        return name


def scheduler_class_name(name: str) -> str:
    """The diffusers class for a scheduler's display name (``Euler ancestral``) or class name."""
    if name in SCHEDULERS:
        return SCHEDULERS[name]
    if name in SCHEDULERS.values():
        return name
    raise SettingsError(
        "scheduler", f"unknown scheduler {name!r}; expected default, {', '.join(SCHEDULERS)}"
    )
