"""Built-in offline models: the trained shapes model shipped in the package, and a tiny
random-weights Stable Diffusion pipeline built from small configs and cached."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

BUILTIN_PREFIX = "builtin:"
TINY_SD = "tiny-sd"
_TINY_SD_VERSION = "v1"
SHAPES_SD = "shapes-sd"
# Trained weights shipped inside the package (see giffusion_nb/shapes/train.py).
SHIPPED = {SHAPES_SD: Path(__file__).parent.parent / "shapes" / "shapes-sd"}
_SEED = 0


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
    builders = {TINY_SD: (_TINY_SD_VERSION, build_tiny_sd)}
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
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build().save_pretrained(staging)
        try:
            staging.rename(target)  # atomic: a concurrent builder either wins or finds it done
        except OSError:
            if not (target / "model_index.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_sd():
    """A Stable Diffusion pipeline with random weights from small configs (64 px native size).

    UNet and VAE are small but keep Stable Diffusion's structure: 4 latent channels and a VAE
    scale factor of 8, so latent shapes, img2img and ControlNet work as on the real model.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(_SEED)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=16,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(16, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=16,
        sample_size=64,
    )
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
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = byte_level_clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size or len(tokenizer),
            hidden_size=hidden_size,
            intermediate_size=intermediate_size,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            max_position_embeddings=77,
            hidden_act=hidden_act,
            projection_dim=hidden_size,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
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
