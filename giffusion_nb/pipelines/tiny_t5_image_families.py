"""Tiny random-weight pipelines of the newer diffusers image families whose text encoders are
T5-style or BERT encoders (Chroma, AuraFlow, HunyuanDiT), for offline tests."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_image_families import FLOW_VAE, dynamic_flow_scheduler
from giffusion_nb.pipelines.tiny_sd import SEED, TINY_VAE
from giffusion_nb.pipelines.tiny_text_encoders import t5_encoder, t5_tokenizer, umt5_encoder
from giffusion_nb.pipelines.tiny_tokenizers import bert_tokenizer
from giffusion_nb.pipelines.tiny_weights import enliven

_WIDTH = 32  # every tiny text encoder here: 32 features, 2 layers, 4 heads
_SDXL_SCALING = 0.13025  # AuraFlow and HunyuanDiT decode with SDXL's 4-channel VAE


def build_tiny_chroma():
    """A ``ChromaPipeline``: Flux's double and single stream blocks with Chroma's modulation
    approximator instead of a pooled CLIP embedding, T5 (attention-masked), a 16-channel VAE
    packed 2x2 into 64 features, Flux's dynamically shifted flow matching."""
    from diffusers import AutoencoderKL, ChromaPipeline, ChromaTransformer2DModel

    torch.manual_seed(SEED)
    tokenizer = t5_tokenizer()
    text_encoder = t5_encoder(tokenizer, d_model=_WIDTH)
    transformer = ChromaTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_WIDTH,
        axes_dims_rope=(4, 4, 8),
        approximator_num_channels=16,
        approximator_hidden_dim=32,
        approximator_layers=1,
    )
    return ChromaPipeline(
        scheduler=dynamic_flow_scheduler(),
        vae=AutoencoderKL(**FLOW_VAE, scaling_factor=0.3611, shift_factor=0.1159),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=enliven(transformer),
    )


def build_tiny_auraflow():
    """An ``AuraFlowPipeline``: AuraFlow's MMDiT and single DiT blocks (patch 2, learned
    positions for up to 16x16 patches, i.e. 256 px) on a 4-channel VAE, a UMT5 encoder on a T5
    vocabulary, flow matching (shift 1.73)."""
    from diffusers import (
        AuraFlowPipeline,
        AuraFlowTransformer2DModel,
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
    )

    torch.manual_seed(SEED)
    tokenizer = t5_tokenizer()
    text_encoder = umt5_encoder(tokenizer, d_model=_WIDTH)
    transformer = AuraFlowTransformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=4,
        num_mmdit_layers=1,
        num_single_dit_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=_WIDTH,
        caption_projection_dim=32,
        out_channels=4,
        pos_embed_max_size=256,
    )
    return AuraFlowPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=AutoencoderKL(**TINY_VAE, scaling_factor=_SDXL_SCALING),
        transformer=enliven(transformer),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=1.73),
    )


def build_tiny_hunyuandit():
    """A ``HunyuanDiTPipeline`` (v1.2 style: no style or image-size conditions): HunyuanDiT's
    DiT with long skips (patch 2, learned sigma) on a 4-channel VAE, a BERT encoder (77 tokens)
    and a T5 encoder standing in for mT5 (256 tokens), v-prediction DDPM.

    Call it with ``use_resolution_binning=False``: the default snaps any size to HunyuanDiT's
    standard shapes (a 64 px frame is rendered, and returned, at 1024 px).
    """
    from diffusers import (
        AutoencoderKL,
        DDPMScheduler,
        HunyuanDiT2DModel,
        HunyuanDiTPipeline,
    )
    from transformers import BertConfig, BertModel

    torch.manual_seed(SEED)
    tokenizer = bert_tokenizer()
    text_encoder = BertModel(
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=_WIDTH,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=2 * _WIDTH,
            max_position_embeddings=128,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    tokenizer_2 = t5_tokenizer()
    text_encoder_2 = t5_encoder(tokenizer_2, d_model=_WIDTH)
    transformer = HunyuanDiT2DModel(
        sample_size=8,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=2,
        hidden_size=16,
        in_channels=4,
        cross_attention_dim=_WIDTH,
        cross_attention_dim_t5=_WIDTH,
        pooled_projection_dim=16,
        use_style_cond_and_image_meta_size=False,
    )
    scheduler = DDPMScheduler(
        beta_start=0.00085,
        beta_end=0.018,
        beta_schedule="scaled_linear",
        prediction_type="v_prediction",
        clip_sample=False,
        steps_offset=1,
    )
    return HunyuanDiTPipeline(
        vae=AutoencoderKL(**TINY_VAE, scaling_factor=_SDXL_SCALING),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=enliven(transformer),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
    )


BUILDERS = {
    "tiny-chroma": ("v1", build_tiny_chroma),
    "tiny-auraflow": ("v1", build_tiny_auraflow),
    "tiny-hunyuandit": ("v1", build_tiny_hunyuandit),
}
