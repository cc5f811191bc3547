"""Built-in offline models: the trained shapes model shipped in the package, and tiny
random-weight pipelines and ControlNets built from small configs and cached."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

BUILTIN_PREFIX = "builtin:"
TINY_SD = "tiny-sd"
_TINY_SD_VERSION = "v1"
SHAPES_SD = "shapes-sd"
# Trained weights shipped inside the package (see giffusion_nb/shapes/train.py).
SHIPPED = {SHAPES_SD: Path(__file__).parent.parent / "shapes" / "shapes-sd"}
_SEED = 0
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


def is_builtin(model_id: str) -> bool:
    """True for ids like ``builtin:shapes-sd``."""
    return model_id.startswith(BUILTIN_PREFIX)


def cache_dir() -> Path:
    """Where built-in models are saved: ``$GIFFUSION_NB_CACHE`` or ``~/.cache/giffusion_nb``."""
    default = Path.home() / ".cache" / "giffusion_nb"
    return Path(os.environ.get("GIFFUSION_NB_CACHE", default))


def builtin_model_path(model_id: str) -> Path:
    """The local folder of a built-in model: the shipped one, or one built and saved on first use.

    The folder is a regular ``save_pretrained`` checkpoint, loaded with ``from_pretrained``
    like any model from the Hub.
    """
    from giffusion_nb.errors import SettingsError

    name = model_id.removeprefix(BUILTIN_PREFIX)
    builders = _builders()
    if name in SHIPPED:
        if not (SHIPPED[name] / "model_index.json").is_file():
            raise SettingsError(
                "model_id",
                f"{model_id} is missing from this installation (expected in {SHIPPED[name]}); "
                "reinstall giffusion-nb",
            )
        return SHIPPED[name]
    if name not in builders:
        raise SettingsError(
            "model_id",
            f"unknown built-in model {model_id!r}; built-in models are "
            + ", ".join(BUILTIN_PREFIX + known for known in [*SHIPPED, *builders]),
        )
    version, build = builders[name]
    target = cache_dir() / f"{name}-{version}"
    if _is_saved(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build().save_pretrained(staging)
        try:
            staging.rename(target)  # atomic: a concurrent builder either wins or finds it done
        except OSError:
            if not _is_saved(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _builders() -> dict[str, tuple[str, Callable]]:
    """Every built-in model made from code: name -> (version, builder). A builder's version
    names its cache folder: bump it whenever the builder changes, so caches are rebuilt."""
    from giffusion_nb.pipelines import tiny_controlnets as controlnets
    from giffusion_nb.pipelines import tiny_families as families

    return {
        TINY_SD: (_TINY_SD_VERSION, build_tiny_sd),
        "tiny-sd-v": ("v1", families.build_tiny_sd_v),
        "tiny-sdxl": ("v1", families.build_tiny_sdxl),
        "tiny-sd3": ("v1", families.build_tiny_sd3),
        "tiny-flux": ("v1", families.build_tiny_flux),
        "tiny-pixart-alpha": ("v1", families.build_tiny_pixart_alpha),
        "tiny-pixart-sigma": ("v1", families.build_tiny_pixart_sigma),
        "tiny-ip2p": ("v1", families.build_tiny_ip2p),
        "tiny-animatediff": ("v1", families.build_tiny_animatediff),
        "tiny-motion-adapter": ("v1", families.build_tiny_motion_adapter),
        "tiny-controlnet": ("v1", controlnets.build_tiny_controlnet),
        "tiny-controlnet-sdxl": ("v1", controlnets.build_tiny_controlnet_sdxl),
        "tiny-controlnet-sd3": ("v1", controlnets.build_tiny_controlnet_sd3),
        "tiny-controlnet-flux": ("v1", controlnets.build_tiny_controlnet_flux),
    }


def _is_saved(folder: Path) -> bool:
    """A finished ``save_pretrained`` folder: a pipeline's index or a single model's config."""
    return (folder / "model_index.json").exists() or (folder / "config.json").exists()


def build_tiny_sd():
    """A Stable Diffusion pipeline with random weights from small configs (64 px native size).

    UNet and VAE are small but keep Stable Diffusion's structure: 4 latent channels and a VAE
    scale factor of 8, so latent shapes, img2img and ControlNet work as on the real model.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(_SEED)
    unet = UNet2DConditionModel(**TINY_UNET)
    vae = AutoencoderKL(**TINY_VAE)
    text = {"hidden_size": 32, "intermediate_size": 64, "layers": 2, "heads": 4}
    return _assemble(unet, vae, **text)


def build_sd15_shaped():
    """A pipeline with Stable Diffusion 1.5's published UNet, VAE and text-encoder shapes and
    random weights, built from config (nothing downloaded): a frame costs what a real one does."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(_SEED)
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
    return _assemble(unet, vae, **text, vocab_size=49408, hidden_act="quick_gelu")


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

    from giffusion_nb.pipelines.tiny_text_encoders import clip_text_encoder

    torch.manual_seed(_SEED)
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


def _assemble(
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

    from giffusion_nb.pipelines.tiny_text_encoders import clip_text_encoder

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


def byte_level_clip_tokenizer(words: Sequence[str] = ()):
    """A CLIP tokenizer whose vocabulary is every byte, alone and word-final.

    Each of ``words`` also becomes one token: merges are appended that join what the merges
    before them leave of the word, left to right (appending never changes how an earlier word
    splits). Any other word still splits into bytes or known pieces.
    """
    from transformers import CLIPTokenizer

    specials = ["<|startoftext|>", "<|endoftext|>"]
    symbols = _byte_symbols()
    vocab = {token: i for i, token in enumerate(specials)}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    merges: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(words):
        pieces = _apply_merges([*word[:-1], word[-1] + "</w>"], merges)
        while len(pieces) > 1:
            merges[(pieces[0], pieces[1])] = len(merges)
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            vocab.setdefault(pieces[0], len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=77)


def _apply_merges(pieces: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair encoding of one word: join the best-ranked adjacent pair until none is known."""
    while len(pieces) > 1:
        pairs = [(ranks.get(pair), i) for i, pair in enumerate(itertools.pairwise(pieces))]
        known = [(rank, i) for rank, i in pairs if rank is not None]
        if not known:
            break
        _, i = min(known)
        pieces = [*pieces[:i], pieces[i] + pieces[i + 1], *pieces[i + 2 :]]
    return pieces


def _byte_symbols() -> list[str]:
    """The byte-level BPE alphabet: printable bytes stand for themselves, the rest are shifted."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    symbols, shift = {}, 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + shift)
            shift += 1
    return [symbols[byte] for byte in range(256)]
