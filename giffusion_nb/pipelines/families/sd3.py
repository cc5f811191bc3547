"""Stable Diffusion 3 and 3.5: a transformer on 16-channel latents, three text encoders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from giffusion_nb.pipelines.families.base import CONTROL, IMAGE, INPAINT, TEXT
from giffusion_nb.pipelines.families.sd import StableDiffusion


class StableDiffusion3(StableDiffusion):
    """``encode_prompt(prompt, prompt_2, prompt_3, ...)`` (the extra prompts are required
    positionals; ``None`` repeats the first) returns the SDXL-like four tensors; the image
    pipeline noises its init with ``scheduler.scale_noise(sample, timestep, noise)``; no
    ControlNet image-to-image pipeline. Guidance, image arguments and ``.images`` are Stable
    Diffusion's, on purpose; prompt weights are not (compel weights CLIP prompts only)."""

    name = "Stable Diffusion 3"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "StableDiffusion3Pipeline",
        IMAGE: "StableDiffusion3Img2ImgPipeline",
        CONTROL: "StableDiffusion3ControlNetPipeline",
        INPAINT: "StableDiffusion3InpaintPipeline",
    }
    examples = (
        "stabilityai/stable-diffusion-3.5-medium",
        "stabilityai/stable-diffusion-3.5-large-turbo",
    )
    controlnet_model = "SD3ControlNetModel"
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
        embeds, negative, pooled, negative_pooled = pipe.encode_prompt(
            prompt=list(prompts),
            prompt_2=None,
            prompt_3=None,
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=negatives is not None,
            negative_prompt=None if negatives is None else list(negatives),
        )
        tensors = {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled}
        if negatives is not None:
            tensors["negative_prompt_embeds"] = negative
            tensors["negative_pooled_prompt_embeds"] = negative_pooled
        return tensors

    def latent_channels(self, pipe: Any) -> int:
        return pipe.transformer.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor * pipe.transformer.config.patch_size

    def native_size(self, pipe: Any) -> int:
        return pipe.default_sample_size * pipe.vae_scale_factor
