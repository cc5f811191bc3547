"""Stable Diffusion 1.x and 2.x (incl. v-prediction checkpoints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.keyframes.weights import WeightedPrompt
from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    FROM_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    Family,
    FrameSize,
    TravelledNoise,
    guidance_scale_argument,
    guided_above_one,
    images_only,
    negative_needs_guidance,
    standard_mode,
)
from giffusion_nb.pipelines.families.noise_entry import scheduler_noise
from giffusion_nb.pipelines.weighted_prompts import clip_embeddings, encode_in_order


class StableDiffusion(Family):
    """A UNet on 4-channel latents, one CLIP text encoder; ``encode_prompt`` returns
    ``(prompt_embeds, negative_prompt_embeds)``. A call from noise takes the key-frame noise as
    ``latents``; image-to-image noises its init through ``scheduler.add_noise``, which is
    given the key-frame noise for the call."""

    name = "Stable Diffusion"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "StableDiffusionPipeline",
        IMAGE: "StableDiffusionImg2ImgPipeline",
        CONTROL: "StableDiffusionControlNetPipeline",
        CONTROL_IMAGE: "StableDiffusionControlNetImg2ImgPipeline",
        INPAINT: "StableDiffusionInpaintPipeline",
    }
    examples = (
        "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "stabilityai/stable-diffusion-2-1",
        "stabilityai/sd-turbo",
    )
    controlnet_model = "ControlNetModel"
    prompt_weighting = True  # compel weights CLIP prompts
    takes_negative_prompt = True
    needs_image = False
    takes_key_frame_images = False
    mask_names = frozenset()
    pads_prompts_together = False  # fixed-length padding
    noise_method: ClassVar[str] = "add_noise"  # how image-to-image noises its init latents
    noise_position: ClassVar[int] = 1  # where the noise is among that method's arguments
    control_argument: ClassVar[str] = "image"  # the conditioning image in CONTROL mode

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[Any],
        negatives: Sequence[Any] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        if any_weighted(prompts, negatives):
            return encode_weighted(self, pipe, prompts, negatives, device)
        embeds, negative = pipe.encode_prompt(
            prompt=list(prompts),
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=negatives is not None,
            negative_prompt=None if negatives is None else list(negatives),
        )
        tensors = {"prompt_embeds": embeds}
        if negatives is not None:
            tensors["negative_prompt_embeds"] = negative
        return tensors

    def weighted_embeddings(
        self, pipe: Any, prompts: list[WeightedPrompt], device: Any
    ) -> dict[str, torch.Tensor]:
        """The tensors of weighted prompts (compel), named as ``encode_prompts`` names them."""
        embeds = clip_embeddings(
            pipe.tokenizer, pipe.text_encoder, prompts, device, penultimate=False
        )
        return {"prompt_embeds": embeds}

    uses_guidance = guided_above_one

    negative_prompt_problem = negative_needs_guidance

    guidance_arguments = guidance_scale_argument

    def latent_channels(self, pipe: Any) -> int:
        return pipe.unet.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor

    def native_size(self, pipe: Any) -> int:
        sample = getattr(pipe, "default_sample_size", None)
        if sample is None:
            sample = pipe.unet.config.sample_size
        return sample * pipe.vae_scale_factor

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """From noise: ``latents`` of ``(C, H/8, W/8)`` a frame; from an init image: the
        scheduler's noising of the encoded init (``latents`` would be read as a noised start)."""
        shape = latent_shape(pipe, size)
        if mode in FROM_IMAGE:
            return scheduler_noise(pipe, self.noise_method, self.noise_position, noise(shape))
        arguments["latents"] = noise(shape)
        return nullcontext()

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        return standard_mode(controlnet, has_init)

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if mode in FROM_IMAGE:
            arguments["image"], arguments["strength"] = inits, strength
        if mode == CONTROL:
            arguments[self.control_argument] = controls
        if mode == CONTROL_IMAGE:
            arguments["control_image"] = controls
        return arguments

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
        return {}

    def images(self, result: Any) -> list[Image.Image]:
        return list(result.images)

    windows = images_only


def latent_shape(pipe: Any, size: FrameSize) -> tuple[int, int, int]:
    """One frame's noise latent: ``(channels, height / s, width / s)`` for the VAE's scale s."""
    scale = pipe.vae_scale_factor
    return (size.channels, size.height // scale, size.width // scale)


def any_weighted(*texts: Sequence[Any] | None) -> bool:
    """True when some text is a weighted prompt (``(word:1.3)``)."""
    return any(isinstance(text, WeightedPrompt) for group in texts for text in group or ())


def encode_weighted(
    family: Any,
    pipe: Any,
    prompts: Sequence[str | WeightedPrompt],
    negatives: Sequence[str | WeightedPrompt] | None,
    device: Any,
) -> dict[str, torch.Tensor]:
    """Every text (prompts, then negatives) encoded as a prompt: plain ones by the family's
    ``encode_prompts``, weighted ones by its ``weighted_embeddings`` (compel); a negative's
    tensors are named ``negative_`` and the prompt's name."""
    texts = [*prompts, *(negatives or ())]

    def plain(batch: list[str]) -> dict[str, torch.Tensor]:
        return family.encode_prompts(pipe, batch, None, device)

    def weighted(batch: list[WeightedPrompt]) -> dict[str, torch.Tensor]:
        return family.weighted_embeddings(pipe, batch, device)

    rows = encode_in_order(texts, plain, weighted)
    count = len(prompts)
    tensors = {name: tensor[:count] for name, tensor in rows.items()}
    if negatives is not None:
        tensors.update({f"negative_{name}": tensor[count:] for name, tensor in rows.items()})
    return tensors
