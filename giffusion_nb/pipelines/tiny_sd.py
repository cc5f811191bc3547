"""The tiny Stable Diffusion pipeline (random weights, small configs) and the parts the other
tiny families and the published-shape pipelines start from."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_text_encoders import byte_level_clip_tokenizer, clip_text_encoder

SEED = 0  # every tiny model is built from this seed
# The tiny UNet and VAE: Stable Diffusion's structure (4 latent channels, VAE scale factor 8)
# at toy widths; the other tiny families (tiny_families.py) start from them.
TINY_UNET = {
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "norm_num_groups": 16,
}
TINY_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": (16, 16, 32, 32),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 1,
    "norm_num_groups": 16,
    "sample_size": 64,
}


def build_tiny_sd():
    """A Stable Diffusion pipeline with random weights from small configs (64 px native size).

    UNet and VAE are small but keep Stable Diffusion's structure: 4 latent channels and a VAE
    scale factor of 8, so latent shapes, img2img and ControlNet work as on the real model.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**TINY_UNET)
    vae = AutoencoderKL(**TINY_VAE)
    text = {"hidden_size": 32, "intermediate_size": 64, "layers": 2, "heads": 4}
    return assemble_sd(unet, vae, **text)


def assemble_sd(
    unet,
    vae,
    *,
    hidden_size: int,
    intermediate_size: int,
    layers: int,
    heads: int,
    vocab_size: int | None = None,
    hidden_act: str = "quick_gelu",
):
    """A StableDiffusionPipeline around ``unet`` and ``vae``: a CLIP text encoder of the given
    shape on the byte-level tokenizer, SD's PNDM scheduler, no safety checker."""
    from diffusers import PNDMScheduler

    tokenizer = byte_level_clip_tokenizer()
    text_encoder = clip_text_encoder(
        tokenizer,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        layers=layers,
        heads=heads,
        vocab_size=vocab_size,
        hidden_act=hidden_act,
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
    )
    return stable_diffusion_pipeline(unet, vae, text_encoder, tokenizer, scheduler)


def stable_diffusion_pipeline(unet, vae, text_encoder, tokenizer, scheduler):
    """A standard ``StableDiffusionPipeline`` of these parts, without a safety checker."""
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


BUILDERS = {"tiny-sd": ("v1", build_tiny_sd)}
