"""The shapes model's components from config, untrained: VAE, UNet, text encoder, tokenizer,
and its noise schedules for training and for sampling."""

from __future__ import annotations

import math

IMAGE_SIZE = 64
LATENT_SIZE = 16  # the VAE downsamples by 4: shapes keep their corners in a 16 x 16 latent
TEXT_WIDTH = 128
UNET_CHANNELS = (48, 96, 96)
# Stable Diffusion's own noise schedule, so its samplers and img2img strengths behave as usual.
BETAS = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}


def build_vae():
    """An AutoencoderKL from 64 x 64 RGB to 16 x 16 x 4 latents."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(16, 32, 64),
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=IMAGE_SIZE,
    )


def build_unet(channels: tuple[int, int, int] = UNET_CHANNELS):
    """A UNet2DConditionModel over 16 x 16 latents, cross-attending at 16 and 8 px."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=4,
        out_channels=4,
        block_out_channels=channels,
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=4,
        norm_num_groups=_norm_groups(channels),
    )


def _norm_groups(channels: tuple[int, ...]) -> int:
    """The most GroupNorm groups, up to 32, that divide every channel count."""
    common = math.gcd(*channels)
    return max(groups for groups in range(1, 33) if common % groups == 0)


def build_tokenizer():
    """The byte-level CLIP tokenizer with every word of the captions as one token."""
    from giffusion_nb.keyframes.shape_words import WORDS
    from giffusion_nb.pipelines.tiny_text_encoders import byte_level_clip_tokenizer

    return byte_level_clip_tokenizer(WORDS)


def build_text_encoder(vocab_size: int, bos: int, eos: int, pad: int):
    """A three-layer CLIP text encoder, ``TEXT_WIDTH`` wide."""
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=TEXT_WIDTH,
            intermediate_size=4 * TEXT_WIDTH,
            num_hidden_layers=3,
            num_attention_heads=4,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            projection_dim=TEXT_WIDTH,
            bos_token_id=bos,
            eos_token_id=eos,
            pad_token_id=pad,
        )
    )


def training_scheduler():
    """The forward (noising) process used in training."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=1000, **BETAS)


def sampling_scheduler():
    """The scheduler the saved pipeline samples with: DPM-Solver++ on the training betas."""
    from diffusers import DPMSolverMultistepScheduler

    return DPMSolverMultistepScheduler(num_train_timesteps=1000, steps_offset=1, **BETAS)


def assemble_pipeline(vae, unet, text_encoder, tokenizer):
    """A standard StableDiffusionPipeline around the trained parts (no safety checker)."""
    from giffusion_nb.pipelines.tiny_sd import stable_diffusion_pipeline

    return stable_diffusion_pipeline(unet, vae, text_encoder, tokenizer, sampling_scheduler())
