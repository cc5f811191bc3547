"""InstructPix2Pix: every frame edits an input image; the UNet reads noise and image latents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.pipelines.families.base import (
    TEXT,
    Family,
    FrameSize,
    TravelledNoise,
    guidance_scale_argument,
    images_only,
)
from giffusion_nb.pipelines.families.sd import latent_shape


class InstructPix2Pix(Family):
    """The UNet takes 8 channels (4 of noise, 4 of the image's latents), so the noise has the
    VAE's 4; the image is the call's ``image`` and the noise enters as ``latents``. Prompts are
    encoded by the private ``_encode_prompt``, which returns ``[prompt, negative, negative]``
    stacked under guidance; guidance needs ``guidance_scale`` > 1 and
    ``image_guidance_scale`` >= 1 (``pipeline_kwargs``, 1.5 by default)."""

    name = "InstructPix2Pix"
    pipelines: ClassVar[dict[str, str]] = {TEXT: "StableDiffusionInstructPix2PixPipeline"}
    examples = ("timbrooks/instruct-pix2pix",)
    controlnet_model = None
    prompt_weighting = False  # its prompts are edit instructions, encoded privately
    takes_negative_prompt = True
    needs_image = True
    takes_key_frame_images = False
    mask_names = frozenset()
    pads_prompts_together = False  # fixed-length padding

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        stacked = pipe._encode_prompt(
            list(prompts),
            device,
            1,
            negatives is not None,
            None if negatives is None else list(negatives),
        )
        count = len(prompts)
        tensors = {"prompt_embeds": stacked[:count]}
        if negatives is not None:
            tensors["negative_prompt_embeds"] = stacked[count : 2 * count]
        return tensors

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        return guidance_scale > 1 and float(pipeline_kwargs.get("image_guidance_scale", 1.5)) >= 1

    def negative_prompt_problem(
        self, guidance_scale: float, pipeline_kwargs: dict[str, Any]
    ) -> str | None:
        if self.uses_guidance(guidance_scale, pipeline_kwargs):
            return None
        return (
            "has no effect without guidance: raise guidance_scale above 1 (and keep "
            "image_guidance_scale at 1 or more), or clear it"
        )

    guidance_arguments = guidance_scale_argument

    def latent_channels(self, pipe: Any) -> int:
        return pipe.vae.config.latent_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor

    def native_size(self, pipe: Any) -> int:
        return pipe.unet.config.sample_size * pipe.vae_scale_factor

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        arguments["latents"] = noise(latent_shape(pipe, size))
        return nullcontext()

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        return TEXT  # the image is an input of the edit, not a start

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        return {"image": inits}

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
        return {}

    def images(self, result: Any) -> list[Image.Image]:
        return list(result.images)

    windows = images_only
