"""Flux: a transformer on 2x2-packed 16-channel latents, distilled guidance, optional true CFG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    Family,
    PromptTensors,
    _matching,
)


class Flux(Family):
    """``encode_prompt(prompt, prompt_2, device, ...)`` takes no guidance arguments and returns
    ``(prompt_embeds, pooled_prompt_embeds, text_ids)``; the pipeline makes ``text_ids`` again
    from the embeddings it is given. Noise is drawn as ``(C, H/8, W/8)`` and packed into a
    sequence of 2x2 patches for a call from noise. ``guidance_scale`` is the distilled guidance
    embedding; real classifier-free guidance (and so a negative prompt) needs
    ``true_cfg_scale`` above 1 in ``pipeline_kwargs``."""

    name = "Flux"
    prompt_weighting = False  # compel encodes CLIP prompts of SD and SDXL only
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "FluxPipeline",
        IMAGE: "FluxImg2ImgPipeline",
        CONTROL: "FluxControlNetPipeline",
        CONTROL_IMAGE: "FluxControlNetImg2ImgPipeline",
        INPAINT: "FluxInpaintPipeline",
    }
    controlnet_model = "FluxControlNetModel"
    noise_method = "scale_noise"
    control_argument = "control_image"

    def encode_prompts(
        self, pipe: Any, prompts: Sequence[str], negatives: Sequence[str] | None, device: Any
    ) -> PromptTensors:
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
        return PromptTensors(tensors, {})

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        return float(pipeline_kwargs.get("true_cfg_scale", 1.0)) > 1

    def check_negative_prompt(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> None:
        if not self.uses_guidance(guidance_scale, pipeline_kwargs):
            raise SettingsError(
                "negative_prompt",
                "has no effect on Flux without true classifier-free guidance: guidance_scale is "
                'Flux\'s distilled guidance; add {"true_cfg_scale": 4.0} to pipeline_kwargs, or '
                "clear the negative prompt",
            )

    def latent_channels(self, pipe: Any) -> int:
        return pipe.transformer.config.in_channels // 4

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor * 2

    def native_size(self, pipe: Any) -> int:
        # The pipeline's default_sample_size is a constant 128 (1024 px) whatever the model;
        # the VAE's config says the size the checkpoint was made for.
        return pipe.vae.config.sample_size

    def latents_argument(self, pipe: Any, noise: torch.Tensor) -> dict[str, Any]:
        batch, channels, height, width = noise.shape
        return {"latents": pipe._pack_latents(noise, batch, channels, height, width)}

    def _with_noise(self, args: tuple, noise: torch.Tensor) -> tuple:
        """``scale_noise(sample, timestep, noise)`` with our (unpacked) noise."""
        sample, timestep, drawn = args
        return sample, timestep, _matching(noise, drawn)
