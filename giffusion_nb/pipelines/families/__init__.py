"""Pipeline families: one module a family says everything that family needs; ``family_of``
finds the family of a loaded pipeline from its class."""

from __future__ import annotations

from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.animatediff import AnimateDiff
from giffusion_nb.pipelines.families.base import Family, PromptTensors
from giffusion_nb.pipelines.families.flux import Flux
from giffusion_nb.pipelines.families.instruct_pix2pix import InstructPix2Pix
from giffusion_nb.pipelines.families.pixart import PixArtAlpha, PixArtSigma
from giffusion_nb.pipelines.families.sd import StableDiffusion
from giffusion_nb.pipelines.families.sd3 import StableDiffusion3
from giffusion_nb.pipelines.families.sdxl import StableDiffusionXL

__all__ = ["FAMILIES", "Family", "PromptTensors", "family_names", "family_of", "known_pipelines"]

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
    """Every diffusers pipeline class name a family renders, with its family."""
    return {name: family for family in FAMILIES for name in family.pipelines.values()}


def family_names() -> list[str]:
    """The families, as people name them."""
    return [family.name for family in FAMILIES]


def family_of(pipe: Any) -> Family:
    """The family of a loaded pipeline (an Auto pipeline has loaded a concrete class)."""
    name = type(pipe).__name__
    family = known_pipelines().get(name)
    if family is None:
        raise SettingsError(
            "pipeline_class",
            f"{name} is outside the pipeline families giffusion_nb renders "
            f"({', '.join(family_names())}); choose one of their classes, e.g. "
            f"{', '.join(f.pipelines['text'] for f in FAMILIES[:3])}",
        )
    return family
