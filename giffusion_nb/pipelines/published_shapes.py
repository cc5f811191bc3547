"""Pipelines with the published shapes of Stable Diffusion 1.5 and SDXL base and random weights,
built from config (nothing downloaded): a frame costs what a real one does, for benchmarks."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_sd import SEED, assemble_sd


def published_shapes():
    """Every published shape a benchmark can time (``bench --shape NAME``): name -> (what it
    is, its builder)."""
    return {
        "sd15": ("Stable Diffusion 1.5's shapes", build_sd15_shaped),
        "sdxl": ("SDXL base 1.0's shapes (2.57 B UNet parameters)", build_sdxl_shaped),
    }


def build_sd15_shaped():
    """A pipeline with Stable Diffusion 1.5's published UNet, VAE and text-encoder shapes and
    random weights, built from config (nothing downloaded): a frame costs what a real one does."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(
        sample_size=64,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=768,
        attention_head_dim=8,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=512,
    )
    text = {"hidden_size": 768, "intermediate_size": 3072, "layers": 12, "heads": 12}
    return assemble_sd(unet, vae, **text, vocab_size=49408, hidden_act="quick_gelu")


def build_sdxl_shaped():
    """A pipeline with SDXL base 1.0's published UNet (2.57 B parameters), VAE and two
    text-encoder shapes and random weights, built from config (nothing downloaded).

    It takes about 14 GB in float32: build it where it will run, under
    ``with torch.device("cuda"):`` (or ``"meta"`` to count parameters without memory).
    """
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )

    from giffusion_nb.pipelines.tiny_text_encoders import (
        byte_level_clip_tokenizer,
        clip_text_encoder,
    )

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(
        sample_size=128,
        block_out_channels=(320, 640, 1280),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        use_linear_projection=True,
        cross_attention_dim=2048,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=1024,
        scaling_factor=0.13025,
        force_upcast=True,
    )
    with torch.device("cpu"):  # the scheduler's tables live on the CPU whatever the context
        scheduler = EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            steps_offset=1,
            timestep_spacing="leading",
        )
    tokenizer, tokenizer_2 = byte_level_clip_tokenizer(), byte_level_clip_tokenizer()
    vit_l = {"hidden_size": 768, "intermediate_size": 3072, "layers": 12, "heads": 12}
    vit_big_g = {"hidden_size": 1280, "intermediate_size": 5120, "layers": 32, "heads": 20}
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer, **vit_l, vocab_size=49408),
        text_encoder_2=clip_text_encoder(
            tokenizer_2, **vit_big_g, vocab_size=49408, hidden_act="gelu", with_projection=True
        ),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )
