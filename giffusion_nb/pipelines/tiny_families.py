"""Tiny random-weight pipelines of every supported family (SD 2.x v-prediction, SDXL, SD3, Flux,
PixArt-α/Σ, InstructPix2Pix, AnimateDiff), built from small configs for offline tests."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_sd import (
    SEED,
    TINY_UNET,
    TINY_VAE,
    build_tiny_sd,
    stable_diffusion_pipeline,
)
from giffusion_nb.pipelines.tiny_text_encoders import (
    byte_level_clip_tokenizer,
    clip_text_encoder,
    t5_encoder,
    t5_tokenizer,
)

# Every tiny family keeps its real model's structure at toy widths: a VAE scale factor of 8,
# SD3's and Flux's 16 latent channels (Flux packs 2x2 of them into 64 features), patch size 2
# for SD3 and PixArt, two CLIP encoders for SDXL, CLIP + T5 for Flux, T5 for PixArt.
_CLIP = {"hidden_size": 32, "intermediate_size": 64, "layers": 2, "heads": 4}
_TIME_EMBED = 8  # SDXL's micro-conditioning: 6 numbers, each embedded in this many features
TINY_SDXL_UNET = {
    **TINY_UNET,
    "cross_attention_dim": 2 * _CLIP["hidden_size"],  # both encoders' hidden states side by side
    "use_linear_projection": True,
    "transformer_layers_per_block": (1, 2),
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": _TIME_EMBED,
    "projection_class_embeddings_input_dim": 6 * _TIME_EMBED + _CLIP["hidden_size"],
}
_FLOW_VAE = {
    **TINY_VAE,
    "latent_channels": 16,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
_SD3_T5_WIDTH = 128  # wider than both CLIP encoders together: their embeddings are zero-padded
TINY_SD3_TRANSFORMER = {
    "sample_size": 8,
    "patch_size": 2,
    "in_channels": 16,
    "out_channels": 16,
    "num_layers": 2,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "joint_attention_dim": _SD3_T5_WIDTH,
    "caption_projection_dim": 32,
    "pooled_projection_dim": 2 * _CLIP["hidden_size"],
    "pos_embed_max_size": 32,
}
_FLUX_T5_WIDTH = 32
TINY_FLUX_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 1,
    "num_single_layers": 1,
    "attention_head_dim": 16,
    "num_attention_heads": 2,
    "joint_attention_dim": _FLUX_T5_WIDTH,
    "pooled_projection_dim": _CLIP["hidden_size"],
    "guidance_embeds": True,
    "axes_dims_rope": (4, 4, 8),
}
_PIXART_T5_WIDTH = 32


def build_tiny_sd_v():
    """``builtin:tiny-sd`` with Stable Diffusion 2.x's v-prediction DDIM scheduler."""
    from diffusers import DDIMScheduler

    base = build_tiny_sd()
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="v_prediction",
    )
    return stable_diffusion_pipeline(
        base.unet, base.vae, base.text_encoder, base.tokenizer, scheduler
    )


def build_tiny_sdxl():
    """A ``StableDiffusionXLPipeline``: CLIP + CLIP-with-projection, text-time addition embeds."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**TINY_SDXL_UNET)
    vae = AutoencoderKL(**TINY_VAE, scaling_factor=0.13025)
    tokenizer, tokenizer_2 = byte_level_clip_tokenizer(), byte_level_clip_tokenizer()
    text_encoder = clip_text_encoder(tokenizer, **_CLIP)
    text_encoder_2 = clip_text_encoder(
        tokenizer_2, **_CLIP, hidden_act="gelu", with_projection=True
    )
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=_sdxl_scheduler(EulerDiscreteScheduler),
        add_watermarker=False,
    )


def _sdxl_scheduler(scheduler_class):
    return scheduler_class(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )


def build_tiny_sd3():
    """A ``StableDiffusion3Pipeline``: MMDiT transformer, two CLIP encoders with projection and
    a T5, 16-channel VAE with SD3's scaling and shift factors, flow-matching Euler scheduler."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )

    torch.manual_seed(SEED)
    transformer = SD3Transformer2DModel(**TINY_SD3_TRANSFORMER)
    vae = AutoencoderKL(**_FLOW_VAE, scaling_factor=1.5305, shift_factor=0.0609)
    tokenizer, tokenizer_2, tokenizer_3 = (
        byte_level_clip_tokenizer(),
        byte_level_clip_tokenizer(),
        t5_tokenizer(),
    )
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer, **_CLIP, with_projection=True),
        tokenizer=tokenizer,
        text_encoder_2=clip_text_encoder(
            tokenizer_2, **_CLIP, hidden_act="gelu", with_projection=True
        ),
        tokenizer_2=tokenizer_2,
        text_encoder_3=t5_encoder(tokenizer_3, d_model=_SD3_T5_WIDTH),
        tokenizer_3=tokenizer_3,
    )


def build_tiny_flux():
    """A ``FluxPipeline``: CLIP (pooled) + T5 (sequence), a transformer with the distilled
    guidance embedding (FLUX.1-dev style), 16-channel VAE, dynamically shifted flow matching."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )

    torch.manual_seed(SEED)
    transformer = FluxTransformer2DModel(**TINY_FLUX_TRANSFORMER)
    vae = AutoencoderKL(**_FLOW_VAE, scaling_factor=0.3611, shift_factor=0.1159)
    tokenizer, tokenizer_2 = byte_level_clip_tokenizer(), t5_tokenizer()
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    return FluxPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer, **_CLIP),
        tokenizer=tokenizer,
        text_encoder_2=t5_encoder(tokenizer_2, d_model=_FLUX_T5_WIDTH),
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )


def build_tiny_pixart_alpha():
    """A ``PixArtAlphaPipeline``: DiT with cross-attention to T5, learned sigma (8 output
    channels), no resolution conditions (its size is not a real PixArt's, so pass
    ``use_resolution_binning=False``)."""
    from diffusers import PixArtAlphaPipeline

    return _pixart(PixArtAlphaPipeline)


def build_tiny_pixart_sigma():
    """A ``PixArtSigmaPipeline`` of the same shape as the tiny PixArt-α."""
    from diffusers import PixArtSigmaPipeline

    return _pixart(PixArtSigmaPipeline)


def _pixart(pipeline_class):
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, PixArtTransformer2DModel

    torch.manual_seed(SEED)
    transformer = PixArtTransformer2DModel(
        sample_size=8,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_channels=_PIXART_T5_WIDTH,
        in_channels=4,
        out_channels=8,
        cross_attention_dim=32,
        attention_bias=True,
        activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000,
        norm_type="ada_norm_single",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
    )
    vae = AutoencoderKL(**TINY_VAE)
    tokenizer = t5_tokenizer()
    return pipeline_class(
        tokenizer=tokenizer,
        text_encoder=t5_encoder(tokenizer, d_model=_PIXART_T5_WIDTH),
        vae=vae,
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),
    )


def build_tiny_ip2p():
    """A ``StableDiffusionInstructPix2PixPipeline``: the tiny SD UNet taking 8 input channels
    (4 noisy latents + 4 image latents), Euler ancestral scheduler as the published model."""
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**{**TINY_UNET, "in_channels": 8})
    vae = AutoencoderKL(**TINY_VAE)
    tokenizer = byte_level_clip_tokenizer()
    return StableDiffusionInstructPix2PixPipeline(
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer, **_CLIP),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=_sdxl_scheduler(EulerAncestralDiscreteScheduler),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_motion_adapter():
    """A ``MotionAdapter`` whose motion modules fit ``builtin:tiny-sd``'s UNet (same block
    widths and layers per block), for ``AnimateDiffPipeline(..., motion_adapter=...)``."""
    from diffusers import MotionAdapter

    torch.manual_seed(SEED)
    return MotionAdapter(
        block_out_channels=TINY_UNET["block_out_channels"],
        motion_layers_per_block=TINY_UNET["layers_per_block"],
        motion_num_attention_heads=4,
        motion_norm_num_groups=TINY_UNET["norm_num_groups"],
        motion_max_seq_length=32,
    )


def build_tiny_animatediff():
    """An ``AnimateDiffPipeline``: ``builtin:tiny-sd`` with the tiny motion adapter and
    AnimateDiff's linear-beta DDIM scheduler, saved whole (its UNet is a UNetMotionModel)."""
    from diffusers import AnimateDiffPipeline, DDIMScheduler

    base = build_tiny_sd()
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="linear",
        clip_sample=False,
        steps_offset=1,
        timestep_spacing="linspace",
    )
    return AnimateDiffPipeline(
        vae=base.vae,
        text_encoder=base.text_encoder,
        tokenizer=base.tokenizer,
        unet=base.unet,
        motion_adapter=build_tiny_motion_adapter(),
        scheduler=scheduler,
    )


BUILDERS = {
    "tiny-sd-v": ("v1", build_tiny_sd_v),
    "tiny-sdxl": ("v1", build_tiny_sdxl),
    "tiny-sd3": ("v1", build_tiny_sd3),
    "tiny-flux": ("v1", build_tiny_flux),
    "tiny-pixart-alpha": ("v1", build_tiny_pixart_alpha),
    "tiny-pixart-sigma": ("v1", build_tiny_pixart_sigma),
    "tiny-ip2p": ("v1", build_tiny_ip2p),
    "tiny-animatediff": ("v1", build_tiny_animatediff),
    "tiny-motion-adapter": ("v1", build_tiny_motion_adapter),
}
