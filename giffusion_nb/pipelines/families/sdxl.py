"""Stable Diffusion XL: two text encoders, pooled embeddings that travel too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    Family,
    PromptTensors,
)


class StableDiffusionXL(Family):
    """``encode_prompt`` returns embeddings, negative, pooled and negative pooled; the image
    pipeline takes ``latents`` as an already-noised start (and then ignores its image), so
    the key-frame noise enters through the scheduler instead."""

    name = "Stable Diffusion XL"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "StableDiffusionXLPipeline",
        IMAGE: "StableDiffusionXLImg2ImgPipeline",
        CONTROL: "StableDiffusionXLControlNetPipeline",
        CONTROL_IMAGE: "StableDiffusionXLControlNetImg2ImgPipeline",
        INPAINT: "StableDiffusionXLInpaintPipeline",
    }

    def encode_prompts(
        self, pipe: Any, prompts: Sequence[str], negatives: Sequence[str] | None, device: Any
    ) -> PromptTensors:
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
        return PromptTensors(tensors, {})
