"""PixArt-α and PixArt-Σ: a transformer with a T5 encoder whose attention masks ride along."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.pipelines.families.base import (
    TEXT,
    CallPrompts,
    Family,
    FrameSize,
    TravelledNoise,
    guidance_scale_argument,
    guided_above_one,
    images_only,
    negative_needs_guidance,
    standard_mode,
)
from giffusion_nb.pipelines.families.sd import latent_shape


class PixArtAlpha(Family):
    """``encode_prompt`` returns embeddings, their attention mask, and the negative pair; the
    masks travel by their maximum (a token counts where either key frame has it), never by
    slerp. Passing negative embeddings needs ``negative_prompt=None`` (its default ``""``
    conflicts with them), and resolution binning stays off so the frames keep the size asked
    for. diffusers has no image-to-image or ControlNet pipeline for PixArt, and its pipelines
    take no step callback: Stop ends a render after the batch in flight."""

    name = "PixArt-α"
    pipelines: ClassVar[dict[str, str]] = {TEXT: "PixArtAlphaPipeline"}
    examples = ("PixArt-alpha/PixArt-XL-2-512x512",)
    controlnet_model = None
    prompt_weighting = False  # compel weights CLIP prompts only
    takes_negative_prompt = True
    needs_image = False
    takes_key_frame_images = False
    mask_names = frozenset({"prompt_attention_mask", "negative_prompt_attention_mask"})
    pads_prompts_together = False  # fixed-length padding

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
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
        return tensors

    def prompt_arguments(self, prompts: CallPrompts) -> dict[str, Any]:
        arguments = super().prompt_arguments(prompts)
        if prompts.tensors is not None:
            arguments["negative_prompt"] = None
        return arguments

    uses_guidance = guided_above_one

    negative_prompt_problem = negative_needs_guidance

    guidance_arguments = guidance_scale_argument

    def latent_channels(self, pipe: Any) -> int:
        return pipe.transformer.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor * pipe.transformer.config.patch_size

    def native_size(self, pipe: Any) -> int:
        return pipe.transformer.config.sample_size * pipe.vae_scale_factor

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
        return standard_mode(controlnet, has_init)  # modes without a pipeline are refused

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        return {}

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
        # clean_caption needs bs4 and ftfy, and turns itself off with a warning per call
        return {"use_resolution_binning": False, "clean_caption": False}

    def images(self, result: Any) -> list[Image.Image]:
        return list(result.images)

    windows = images_only


class PixArtSigma(PixArtAlpha):
    """PixArt-Σ: the same prompts and latents as PixArt-α, a longer T5 sequence."""

    name = "PixArt-Σ"
    pipelines: ClassVar[dict[str, str]] = {TEXT: "PixArtSigmaPipeline"}
    examples = ("PixArt-alpha/PixArt-Sigma-XL-2-1024-MS",)
