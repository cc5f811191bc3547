"""Pipeline families: one module a family says everything that family needs; ``family_of``
finds the family of a loaded pipeline from its class: a named family that claims the class,
else the generic family, which renders any pipeline by what it accepts."""

from __future__ import annotations

import functools
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.animatediff import AnimateDiff
from giffusion_nb.pipelines.families.base import Family
from giffusion_nb.pipelines.families.flux import Flux
from giffusion_nb.pipelines.families.generic import Generic, generic_problem
from giffusion_nb.pipelines.families.instruct_pix2pix import InstructPix2Pix
from giffusion_nb.pipelines.families.pixart import PixArtAlpha, PixArtSigma
from giffusion_nb.pipelines.families.sd import StableDiffusion
from giffusion_nb.pipelines.families.sd3 import StableDiffusion3
from giffusion_nb.pipelines.families.sdxl import StableDiffusionXL
from giffusion_nb.pipelines.families.signatures import accepts
from giffusion_nb.pipelines.families.video_model import VideoModel

__all__ = ["FAMILIES", "Family", "family_names", "family_of", "known_pipelines", "model_examples"]

FAMILIES: tuple[Family, ...] = (
    StableDiffusion(),
    StableDiffusionXL(),
    StableDiffusion3(),
    Flux(),
    PixArtAlpha(),
    PixArtSigma(),
    InstructPix2Pix(),
    AnimateDiff(),
)


def known_pipelines() -> dict[str, Family]:
    """Every diffusers pipeline class name a named family renders, with its family."""
    return {name: family for family in FAMILIES for name in family.pipelines.values()}


def family_names() -> list[str]:
    """The named families, as people name them."""
    return [family.name for family in FAMILIES]


def model_examples() -> list[str]:
    """Checkpoints to suggest, a few of each named family."""
    return [example for family in FAMILIES for example in family.examples]


def family_of(pipe: Any) -> Family:
    """The family of a loaded pipeline (an Auto pipeline has loaded a concrete class)."""
    return family_of_class(type(pipe))


@functools.cache
def family_of_class(pipeline_class: type) -> Family:
    """The family of a pipeline class: the named one that claims it, else the generic one (a
    video model's, for a call that takes ``num_frames``), or an error on ``pipeline_class``
    that names what the class lacks."""
    family = known_pipelines().get(pipeline_class.__name__)
    if family is not None:
        return family
    problem = generic_problem(pipeline_class)
    if problem is not None:
        raise SettingsError(
            "pipeline_class",
            f"{pipeline_class.__name__} cannot travel between key frames: {problem}; "
            f"choose a pipeline whose call takes prompt and latents, e.g. "
            f"{', '.join(f.pipelines['text'] for f in FAMILIES[:3])}",
        )
    if accepts(pipeline_class).call_takes("num_frames"):
        return VideoModel(pipeline_class)
    return Generic(pipeline_class)
