"""PixArt-α and PixArt-Σ: a transformer with a T5 encoder whose attention masks ride along."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from giffusion_nb.pipelines.families.base import TEXT, Family, PromptTensors


class PixArtAlpha(Family):
    """``encode_prompt`` returns embeddings, their attention mask, and the negative pair; the
    masks travel by their maximum (a token counts where either key frame has it), never by
    slerp. Passing negative embeddings needs ``negative_prompt=None`` (its default ``""``
    conflicts with them), and resolution binning stays off so the frames keep the size asked
    for. diffusers has no image-to-image or ControlNet pipeline for PixArt, and its pipelines
    take no step callback: Stop ends a render after the batch in flight."""

    name = "PixArt-α"
    prompt_weighting = False  # compel encodes CLIP prompts of SD and SDXL only
    pipelines: ClassVar[dict[str, str]] = {TEXT: "PixArtAlphaPipeline"}
    controlnet_model = None
    mask_names = frozenset({"prompt_attention_mask", "negative_prompt_attention_mask"})

    def encode_prompts(
        self, pipe: Any, prompts: Sequence[str], negatives: Sequence[str] | None, device: Any
    ) -> PromptTensors:
        embeds, mask, negative, negative_mask = pipe.encode_prompt(
            prompt=list(prompts),
            do_classifier_free_guidance=negatives is not None,
            negative_prompt="" if negatives is None else list(negatives),
            num_images_per_prompt=1,
            device=device,
        )
        tensors = {"prompt_embeds": embeds, "prompt_attention_mask": mask}
        if negatives is not None:
            tensors["negative_prompt_embeds"] = negative
            tensors["negative_prompt_attention_mask"] = negative_mask
        return PromptTensors(tensors, {})

    def embeds_arguments(self, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
        return {**tensors, "negative_prompt": None}

    def call_defaults(self) -> dict[str, Any]:
        # clean_caption needs bs4 and ftfy, and turns itself off with a warning per call
        return {"use_resolution_binning": False, "clean_caption": False}

    def latent_channels(self, pipe: Any) -> int:
        return pipe.transformer.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor * pipe.transformer.config.patch_size

    def native_size(self, pipe: Any) -> int:
        return pipe.transformer.config.sample_size * pipe.vae_scale_factor


class PixArtSigma(PixArtAlpha):
    """PixArt-Σ: the same prompts and latents as PixArt-α, a longer T5 sequence."""

    name = "PixArt-Σ"
    pipelines: ClassVar[dict[str, str]] = {TEXT: "PixArtSigmaPipeline"}
