"""Stable Diffusion XL: two text encoders, pooled embeddings that travel too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from giffusion_nb.keyframes.weights import WeightedPrompt
from giffusion_nb.pipelines.families.base import CONTROL, CONTROL_IMAGE, IMAGE, INPAINT, TEXT
from giffusion_nb.pipelines.families.sd import StableDiffusion, any_weighted, encode_weighted
from giffusion_nb.pipelines.weighted_prompts import clip_embeddings, clip_pooled


class StableDiffusionXL(StableDiffusion):
    """Stable Diffusion with two CLIP encoders: ``encode_prompt`` returns embeddings, negative,
    pooled and negative pooled. Everything else is Stable Diffusion's, on purpose: latents,
    ControlNet, and the key-frame noise of image-to-image through ``scheduler.add_noise`` (the
    image pipeline would read a passed ``latents`` as an already-noised start and ignore its
    image)."""

    name = "Stable Diffusion XL"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "StableDiffusionXLPipeline",
        IMAGE: "StableDiffusionXLImg2ImgPipeline",
        CONTROL: "StableDiffusionXLControlNetPipeline",
        CONTROL_IMAGE: "StableDiffusionXLControlNetImg2ImgPipeline",
        INPAINT: "StableDiffusionXLInpaintPipeline",
    }
    examples = ("stabilityai/stable-diffusion-xl-base-1.0", "stabilityai/sdxl-turbo")

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        if any_weighted(prompts, negatives):
            return encode_weighted(self, pipe, prompts, negatives, device)
        embeds, negative, pooled, negative_pooled = pipe.encode_prompt(
            prompt=list(prompts),
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

    def weighted_embeddings(
        self, pipe: Any, prompts: list[WeightedPrompt], device: Any
    ) -> dict[str, torch.Tensor]:
        """Both encoders' penultimate hidden states side by side (a refiner has only the
        second), and the second's pooled embedding of the unweighted text."""
        pairs = [(pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)]
        parts = [
            clip_embeddings(tokenizer, encoder, prompts, device, penultimate=True)
            for tokenizer, encoder in pairs
            if encoder is not None
        ]
        pooled = clip_pooled(pipe.tokenizer_2, pipe.text_encoder_2, prompts, device)
        return {"prompt_embeds": torch.cat(parts, dim=-1), "pooled_prompt_embeds": pooled}
