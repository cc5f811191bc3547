"""Flux: a transformer on 2x2-packed 16-channel latents, distilled guidance, optional true CFG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import torch

from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    FROM_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    FrameSize,
    TravelledNoise,
)
from giffusion_nb.pipelines.families.noise_entry import scheduler_noise
from giffusion_nb.pipelines.families.sd import StableDiffusion, latent_shape


class Flux(StableDiffusion):
    """``encode_prompt(prompt, prompt_2, device, ...)`` takes no guidance arguments and returns
    ``(prompt_embeds, pooled_prompt_embeds, text_ids)``; the pipeline makes ``text_ids`` again
    from the embeddings it is given. Noise is drawn as ``(C, H/8, W/8)`` and packed into a
    sequence of 2x2 patches for a call from noise; image-to-image noises its init with
    ``scheduler.scale_noise``. ``guidance_scale`` is the distilled guidance embedding; real
    classifier-free guidance (and so a negative prompt) needs ``true_cfg_scale`` above 1 in
    ``pipeline_kwargs``. Image arguments, ControlNet modes and ``.images`` are Stable
    Diffusion's, on purpose."""

    name = "Flux"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "FluxPipeline",
        IMAGE: "FluxImg2ImgPipeline",
        CONTROL: "FluxControlNetPipeline",
        CONTROL_IMAGE: "FluxControlNetImg2ImgPipeline",
        INPAINT: "FluxInpaintPipeline",
    }
    examples = ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev")
    controlnet_model = "FluxControlNetModel"
    prompt_weighting = False
    noise_method = "scale_noise"
    noise_position = 2
    control_argument = "control_image"

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        embeds, pooled, _text_ids = pipe.encode_prompt(
            prompt=list(prompts), prompt_2=None, device=device, num_images_per_prompt=1
        )
        tensors = {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled}
        if negatives is not None:
            negative, negative_pooled, _ = pipe.encode_prompt(
                prompt=list(negatives), prompt_2=None, device=device, num_images_per_prompt=1
            )
            tensors["negative_prompt_embeds"] = negative
            tensors["negative_pooled_prompt_embeds"] = negative_pooled
        return tensors

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        return float(pipeline_kwargs.get("true_cfg_scale", 1.0)) > 1

    def negative_prompt_problem(
        self, guidance_scale: float, pipeline_kwargs: dict[str, Any]
    ) -> str | None:
        if self.uses_guidance(guidance_scale, pipeline_kwargs):
            return None
        return (
            "has no effect on Flux without true classifier-free guidance: guidance_scale is "
            'Flux\'s distilled guidance; add {"true_cfg_scale": 4.0} to pipeline_kwargs, or '
            "clear the negative prompt"
        )

    def latent_channels(self, pipe: Any) -> int:
        return pipe.transformer.config.in_channels // 4

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor * 2

    def native_size(self, pipe: Any) -> int:
        # The pipeline's default_sample_size is a constant 128 (1024 px) whatever the model;
        # the VAE's config says the size the checkpoint was made for.
        return pipe.vae.config.sample_size

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """From noise: the unpacked noise, packed into ``latents``; from an init image: the
        scheduler's ``scale_noise`` of the encoded init, with the unpacked noise."""
        shape = latent_shape(pipe, size)
        if mode in FROM_IMAGE:
            return scheduler_noise(pipe, self.noise_method, self.noise_position, noise(shape))
        latents = noise(shape)
        batch, channels, height, width = latents.shape
        arguments["latents"] = pipe._pack_latents(latents, batch, channels, height, width)
        return nullcontext()
