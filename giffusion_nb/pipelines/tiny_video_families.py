"""Tiny random-weight video pipelines (Wan 2.1 text-to-video, Wan 2.1 first-last-frame-to-video,
LTX-Video), built from small configs for offline tests."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_sd import SEED
from giffusion_nb.pipelines.tiny_text_encoders import t5_encoder, t5_tokenizer, umt5_encoder
from giffusion_nb.pipelines.tiny_weights import enliven

# Wan's VAE compresses 8x in space and 4x in time into 16 channels (F = 4k+1 frames make k+1
# latent frames), its transformer patches 1x2x2; LTX-Video's VAE compresses 32x in space (a 4x4
# patchify, then three 2x downsamplings) and 8x in time into 128 channels (F = 8k+1), patch 1.
_WAN_VAE = {
    "base_dim": 8,
    "z_dim": 16,
    "dim_mult": [1, 1, 1, 1],
    "num_res_blocks": 1,
    "temperal_downsample": [False, True, True],
}
_WAN_TRANSFORMER = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 2,
    "attention_head_dim": 12,
    "out_channels": 16,
    "text_dim": 32,
    "freq_dim": 32,
    "ffn_dim": 32,
    "num_layers": 2,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "rope_max_seq_len": 32,
}
# Wan 2.1's image encoder sees 224 px CLIP crops in 16 px patches (257 tokens); the tiny one
# sees 32 px crops in 8 px patches: 16 patches and the class token, twice for first and last.
_CLIP_SIZE, _CLIP_PATCH = 32, 8
_CLIP_TOKENS = (_CLIP_SIZE // _CLIP_PATCH) ** 2 + 1


def build_tiny_wan():
    """A ``WanPipeline`` (Wan 2.1 text-to-video): Wan's video DiT on its causal 3D VAE, a UMT5
    encoder on a T5 vocabulary, UniPC on flow sigmas (shift 3, as Wan 2.1 at 480p)."""
    from diffusers import AutoencoderKLWan, WanPipeline, WanTransformer3DModel

    torch.manual_seed(SEED)
    tokenizer, text_encoder = _umt5()
    transformer = WanTransformer3DModel(**_WAN_TRANSFORMER, in_channels=16)
    return WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=AutoencoderKLWan(**_WAN_VAE),
        scheduler=_unipc_flow(),
        transformer=enliven(transformer),
    )


def build_tiny_wan_flf():
    """A ``WanImageToVideoPipeline`` in Wan 2.1's first-last-frame style (as
    Wan2.1-FLF2V-14B-720P): the transformer takes the noise, a frame mask and the VAE latents of
    the first and last images (16 + 4 + 16 = 36 channels), and cross-attends to CLIP vision
    features of both images (``image_dim``, ``added_kv_proj_dim``, a learned position embedding
    over the two). Like the real one it needs ``last_image`` as well as ``image``, and prompt
    embeddings 512 tokens long (the pipeline's default ``max_sequence_length``)."""
    from diffusers import AutoencoderKLWan, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(SEED)
    tokenizer, text_encoder = _umt5()
    inner_dim = _WAN_TRANSFORMER["num_attention_heads"] * _WAN_TRANSFORMER["attention_head_dim"]
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            projection_dim=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=_CLIP_SIZE,
            patch_size=_CLIP_PATCH,
        )
    )
    transformer = WanTransformer3DModel(
        **_WAN_TRANSFORMER,
        in_channels=36,
        image_dim=16,
        added_kv_proj_dim=inner_dim,
        pos_embed_seq_len=2 * _CLIP_TOKENS,
    )
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=AutoencoderKLWan(**_WAN_VAE),
        scheduler=_unipc_flow(),
        image_processor=_clip_image_processor(),
        image_encoder=image_encoder,
        transformer=enliven(transformer),
    )


def build_tiny_ltx():
    """An ``LTXPipeline`` (LTX-Video 0.9.5 style): LTX's video DiT on its 128-channel VAE with a
    timestep-conditioned decoder, T5, flow matching; ``LTXConditionPipeline`` and
    ``LTXImageToVideoPipeline`` load the same folder."""
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(SEED)
    tokenizer = t5_tokenizer()
    text_encoder = t5_encoder(tokenizer, d_model=32)
    transformer = LTXVideoTransformer3DModel(
        in_channels=128,
        out_channels=128,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        num_layers=2,
        caption_channels=32,
    )
    vae = AutoencoderKLLTXVideo(
        latent_channels=128,
        block_out_channels=(8, 16, 32, 32),
        decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False,) * 4,
        upsample_residual=(True,) * 3,
        upsample_factor=(2,) * 3,
        timestep_conditioning=True,
        patch_size=4,
        patch_size_t=1,
    )
    return LTXPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=enliven(transformer),
    )


def _umt5():
    """A T5 tokenizer and a two-layer UMT5 encoder on it (Wan's text encoder is UMT5-XXL)."""
    tokenizer = t5_tokenizer()
    return tokenizer, umt5_encoder(tokenizer, d_model=32)


def _unipc_flow():
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )


def _clip_image_processor():
    """CLIP's preprocessing (resize, centre crop, normalise) at the tiny encoder's size, in its
    PIL implementation (no torchvision needed)."""
    from transformers import CLIPImageProcessor

    size = {"shortest_edge": _CLIP_SIZE}
    crop = {"height": _CLIP_SIZE, "width": _CLIP_SIZE}
    return CLIPImageProcessor(size=size, crop_size=crop)


BUILDERS = {
    "tiny-wan": ("v1", build_tiny_wan),
    "tiny-wan-flf": ("v1", build_tiny_wan_flf),
    "tiny-ltx": ("v1", build_tiny_ltx),
}
