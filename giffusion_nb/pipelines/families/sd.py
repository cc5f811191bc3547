"""Stable Diffusion 1.x and 2.x (incl. v-prediction checkpoints): the base family as it is."""

from __future__ import annotations

from giffusion_nb.pipelines.families.base import Family


class StableDiffusion(Family):
    """UNet on 4-channel latents, one CLIP text encoder; ``encode_prompt`` returns
    ``(prompt_embeds, negative_prompt_embeds)``; img2img noises its init through
    ``scheduler.add_noise``."""
