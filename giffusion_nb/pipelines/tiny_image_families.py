"""Tiny random-weight pipelines of the newer diffusers image families whose text encoder is a
language model (Sana, Lumina 2, CogView4, Qwen-Image, Flux.2 Klein), for offline tests."""

from __future__ import annotations

import math

import torch

from giffusion_nb.pipelines.tiny_sd import SEED, TINY_VAE
from giffusion_nb.pipelines.tiny_tokenizers import gemma_tokenizer, glm_tokenizer, qwen_tokenizer
from giffusion_nb.pipelines.tiny_weights import enliven

# Each keeps its real model's latent channels, VAE scale factor and patch size at toy widths:
# Sana's DC-AE compresses 32x into 32 channels; Lumina 2, CogView4 and Qwen-Image use 16-channel
# VAEs that compress 8x (Qwen-Image packs 2x2 latents into 64 features);
# Flux.2's VAE makes 32 channels and packs 2x2 of them into 128.
_LM = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}
FLOW_VAE = {
    **TINY_VAE,
    "latent_channels": 16,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
_SANA_DC_AE = {
    "latent_channels": 32,
    "attention_head_dim": 8,
    "encoder_block_types": ("ResBlock",) * 3 + ("EfficientViTBlock",) * 3,
    "decoder_block_types": ("ResBlock",) * 3 + ("EfficientViTBlock",) * 3,
    "encoder_block_out_channels": (8, 8, 16, 16, 32, 32),
    "decoder_block_out_channels": (8, 8, 16, 16, 32, 32),
    "encoder_layers_per_block": (1,) * 6,
    "decoder_layers_per_block": (1,) * 6,
    "encoder_qkv_multiscales": ((), (), (), (5,), (5,), (5,)),
    "decoder_qkv_multiscales": ((), (), (), (5,), (5,), (5,)),
    "downsample_block_type": "conv",
    "upsample_block_type": "interpolate",
    "scaling_factor": 0.41407,
}
# Qwen's template ahead of the prompt: 34 tokens, as Qwen-Image drops (its
# ``prompt_template_encode_start_idx``), when the tokenizer knows the template's words.
_QWEN_IMAGE_TEMPLATE = (
    "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, "
    "quantity, text, spatial relationships of the objects and background:<|im_end|>\n"
    "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n"
)
_KLEIN_LAYERS = 27  # Flux.2 Klein stacks the hidden states of layers 9, 18 and 27


def build_tiny_sana():
    """A ``SanaPipeline``: Sana's linear-attention DiT (patch 1) on a 32-channel DC-AE that
    compresses 32x, a Gemma 2 text encoder, DPM-Solver++ on flow sigmas (shift 3).

    Call it with ``use_resolution_binning=False``: the default snaps any size to Sana's 1024 px
    bins (a 64 px frame is rendered at 1024 px and shrunk back).
    """
    from diffusers import (
        AutoencoderDC,
        DPMSolverMultistepScheduler,
        SanaPipeline,
        SanaTransformer2DModel,
    )

    torch.manual_seed(SEED)
    tokenizer = gemma_tokenizer()
    text_encoder = _gemma2(tokenizer)
    transformer = enliven(
        SanaTransformer2DModel(
            in_channels=32,
            out_channels=32,
            num_attention_heads=2,
            attention_head_dim=8,
            num_layers=2,
            num_cross_attention_heads=2,
            cross_attention_head_dim=8,
            cross_attention_dim=16,
            caption_channels=_LM["hidden_size"],
            sample_size=32,
            patch_size=1,
        )
    )
    scheduler = DPMSolverMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    return SanaPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=AutoencoderDC(**_SANA_DC_AE),
        transformer=transformer,
        scheduler=scheduler,
    )


def build_tiny_lumina2():
    """A ``Lumina2Pipeline``: Lumina 2's DiT (patch 2, with caption refiner layers) on a
    16-channel VAE, a Gemma 2 text encoder (its second-to-last layer), flow matching (shift 6)."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        Lumina2Pipeline,
        Lumina2Transformer2DModel,
    )

    torch.manual_seed(SEED)
    tokenizer = gemma_tokenizer()
    text_encoder = _gemma2(tokenizer)
    transformer = enliven(
        Lumina2Transformer2DModel(
            sample_size=8,
            patch_size=2,
            in_channels=16,
            hidden_size=32,
            num_layers=2,
            num_refiner_layers=1,
            num_attention_heads=2,
            num_kv_heads=1,
            multiple_of=16,
            axes_dim_rope=(4, 6, 6),
            cap_feat_dim=_LM["hidden_size"],
        )
    )
    return Lumina2Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=6.0),
        vae=AutoencoderKL(**FLOW_VAE, scaling_factor=0.3611, shift_factor=0.1159),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )


def build_tiny_cogview4():
    """A ``CogView4Pipeline``: CogView4's DiT (patch 2, size and crop conditions) on a
    16-channel VAE, a GLM text encoder (second-to-last layer, left padding), flow matching with
    CogView4's linear resolution-dependent shift."""
    from diffusers import (
        AutoencoderKL,
        CogView4Pipeline,
        CogView4Transformer2DModel,
        FlowMatchEulerDiscreteScheduler,
    )
    from transformers import GlmConfig, GlmModel

    torch.manual_seed(SEED)
    tokenizer = glm_tokenizer()
    config = GlmConfig(
        **_LM,
        vocab_size=len(tokenizer),
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    transformer = enliven(
        CogView4Transformer2DModel(
            patch_size=2,
            in_channels=16,
            out_channels=16,
            num_layers=2,
            attention_head_dim=8,
            num_attention_heads=4,
            text_embed_dim=_LM["hidden_size"],
            time_embed_dim=16,
            condition_dim=8,
            sample_size=8,
        )
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_shift=0.25,
        max_shift=0.75,
        base_image_seq_len=256,
        use_dynamic_shifting=True,
        time_shift_type="linear",
    )
    return CogView4Pipeline(
        tokenizer=tokenizer,
        text_encoder=GlmModel(config),
        vae=AutoencoderKL(**FLOW_VAE, scaling_factor=1.0),
        transformer=transformer,
        scheduler=scheduler,
    )


def build_tiny_qwenimage():
    """A ``QwenImagePipeline``: Qwen-Image's MMDiT (patch 2) on its 16-channel causal video VAE
    (one frame), a Qwen2.5-VL text encoder (a tiny vision tower it never uses for text), true
    CFG, flow matching with Qwen-Image's exponential dynamic shift."""
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(SEED)
    tokenizer = qwen_tokenizer(words=[_QWEN_IMAGE_TEMPLATE])
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            **_LM,
            "vocab_size": len(tokenizer),
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [2, 2, 4], "rope_type": "default", "type": "default"},
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_heads": 2,
            "out_hidden_size": _LM["hidden_size"],
        },
        vocab_size=len(tokenizer),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    transformer = enliven(
        QwenImageTransformer2DModel(
            patch_size=2,
            in_channels=64,
            out_channels=16,
            num_layers=2,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=_LM["hidden_size"],
            axes_dims_rope=(8, 4, 4),
        )
    )
    vae = AutoencoderKLQwenImage(base_dim=8, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1)
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_shift=math.log(3),
        max_shift=math.log(3),
        base_image_seq_len=256,
        max_image_seq_len=8192,
        shift_terminal=0.02,
        use_dynamic_shifting=True,
        time_shift_type="exponential",
    )
    return QwenImagePipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=Qwen2_5_VLForConditionalGeneration(config),
        tokenizer=tokenizer,
        transformer=transformer,
    )


def build_tiny_flux2_klein():
    """A ``Flux2KleinPipeline`` (a base, not step-distilled, Klein: real CFG): Flux.2's
    transformer (no guidance embedding) on a 32-channel VAE packed 2x2 into 128 features, a
    Qwen3 text encoder of 27 layers so the default ``text_encoder_out_layers`` (9, 18, 27) work."""
    from diffusers import (
        AutoencoderKLFlux2,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(SEED)
    tokenizer = qwen_tokenizer()
    config = Qwen3Config(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=_KLEIN_LAYERS,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    transformer = enliven(
        Flux2Transformer2DModel(
            patch_size=1,
            in_channels=128,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=3 * config.hidden_size,
            timestep_guidance_channels=32,
            axes_dims_rope=(4, 4, 4, 4),
            guidance_embeds=False,
        )
    )
    vae_shape = {k: v for k, v in FLOW_VAE.items() if k not in ("latent_channels", "sample_size")}
    vae = AutoencoderKLFlux2(**vae_shape, latent_channels=32)
    return Flux2KleinPipeline(
        scheduler=dynamic_flow_scheduler(),
        vae=vae,
        text_encoder=Qwen3ForCausalLM(config),
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=False,
    )


def _gemma2(tokenizer):
    """A two-layer Gemma 2 on ``tokenizer``'s special ids (eager attention, as Gemma 2 wants)."""
    from transformers import Gemma2Config, Gemma2Model

    config = Gemma2Config(
        **_LM,
        vocab_size=len(tokenizer),
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        attn_implementation="eager",
    )
    return Gemma2Model(config)


def dynamic_flow_scheduler():
    """Flux's flow-matching schedule, shifted by the image's token count."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )


BUILDERS = {
    "tiny-sana": ("v1", build_tiny_sana),
    "tiny-lumina2": ("v1", build_tiny_lumina2),
    "tiny-cogview4": ("v1", build_tiny_cogview4),
    "tiny-qwenimage": ("v1", build_tiny_qwenimage),
    "tiny-flux2-klein": ("v1", build_tiny_flux2_klein),
}
