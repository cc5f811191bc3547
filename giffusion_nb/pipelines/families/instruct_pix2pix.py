"""InstructPix2Pix: every frame edits an input image; the UNet reads noise and image latents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from PIL import Image

from giffusion_nb.pipelines.families.base import TEXT, Family, PromptTensors


class InstructPix2Pix(Family):
    """The UNet takes 8 channels (4 of noise, 4 of the image's latents), so the noise has the
    VAE's 4; the image is the call's ``image`` and the noise enters as ``latents``. Prompts are
    encoded by the private ``_encode_prompt``, which returns ``[prompt, negative, negative]``
    stacked under guidance; guidance needs ``guidance_scale`` > 1 and
    ``image_guidance_scale`` >= 1 (``pipeline_kwargs``, 1.5 by default)."""

    name = "InstructPix2Pix"
    prompt_weighting = False  # its prompts are edit instructions, encoded privately
    pipelines: ClassVar[dict[str, str]] = {TEXT: "StableDiffusionInstructPix2PixPipeline"}
    controlnet_model = None
    needs_image = True

    def encode_prompts(
        self, pipe: Any, prompts: Sequence[str], negatives: Sequence[str] | None, device: Any
    ) -> PromptTensors:
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
        return PromptTensors(tensors, {})

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        return guidance_scale > 1 and float(pipeline_kwargs.get("image_guidance_scale", 1.5)) >= 1

    def latent_channels(self, pipe: Any) -> int:
        return pipe.vae.config.latent_channels

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
