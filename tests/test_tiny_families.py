"""Tests for the tiny built-in pipelines of every family, their ControlNets and motion adapter:
each is built once, saved, loaded back with ``from_pretrained`` and renders."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
from helpers import gradient, solid

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.builtin import builtin_model_path
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.pipelines.published_shapes import build_sdxl_shaped
from giffusion_nb.pipelines.tiny_text_encoders import t5_tokenizer

_PIXART = {"use_resolution_binning": False, "clean_caption": False}
# id, pipeline class, extra call arguments, what the loaded pipeline must be made of
FAMILIES = {
    "builtin:tiny-sd-v": (
        "StableDiffusionPipeline",
        {},
        {"scheduler.config.prediction_type": "v_prediction"},
    ),
    "builtin:tiny-sdxl": (
        "StableDiffusionXLPipeline",
        {},
        {
            "text_encoder_2.__class__.__name__": "CLIPTextModelWithProjection",
            "unet.config.addition_embed_type": "text_time",
        },
    ),
    "builtin:tiny-sd3": (
        "StableDiffusion3Pipeline",
        {},
        {
            "transformer.config.in_channels": 16,
            "vae.config.latent_channels": 16,
            "text_encoder_3.__class__.__name__": "T5EncoderModel",
        },
    ),
    "builtin:tiny-flux": (
        "FluxPipeline",
        {},
        {
            "transformer.config.guidance_embeds": True,
            "transformer.config.in_channels": 64,  # 16 latent channels packed 2x2
            "vae.config.latent_channels": 16,
        },
    ),
    "builtin:tiny-pixart-alpha": (
        "PixArtAlphaPipeline",
        _PIXART,
        {"transformer.config.out_channels": 8},
    ),
    "builtin:tiny-pixart-sigma": (
        "PixArtSigmaPipeline",
        _PIXART,
        {"transformer.config.out_channels": 8},
    ),
    "builtin:tiny-ip2p": (
        "StableDiffusionInstructPix2PixPipeline",
        {"image": gradient(0)},
        {"unet.config.in_channels": 8},
    ),
    "builtin:tiny-animatediff": (
        "AnimateDiffPipeline",
        {"num_frames": 3},
        {"unet.__class__.__name__": "UNetMotionModel"},
    ),
}
# ControlNet id: base id, base class, ControlNet pipeline class, control image argument
CONTROLNETS = {
    "builtin:tiny-controlnet": (
        "builtin:tiny-sd",
        "StableDiffusionPipeline",
        "StableDiffusionControlNetPipeline",
        "image",
    ),
    "builtin:tiny-controlnet-sdxl": (
        "builtin:tiny-sdxl",
        "StableDiffusionXLPipeline",
        "StableDiffusionXLControlNetPipeline",
        "image",
    ),
    "builtin:tiny-controlnet-sd3": (
        "builtin:tiny-sd3",
        "StableDiffusion3Pipeline",
        "StableDiffusion3ControlNetPipeline",
        "control_image",
    ),
    "builtin:tiny-controlnet-flux": (
        "builtin:tiny-flux",
        "FluxPipeline",
        "FluxControlNetPipeline",
        "control_image",
    ),
}


@pytest.fixture(scope="module")
def load():
    """``load_pipeline`` on the CPU, each pipeline loaded once for this module."""
    loaded = {}

    def load_once(model_id: str, pipeline_class: str, controlnet_ids: tuple[str, ...] = ()):
        key = (model_id, pipeline_class, controlnet_ids)
        if key not in loaded:
            loaded[key] = load_pipeline(
                model_id, pipeline_class=pipeline_class, controlnet_ids=controlnet_ids, device="cpu"
            )
        return loaded[key]

    return load_once


def render(pipe, seed: int, **kwargs) -> np.ndarray:
    """Two steps at 64 px; a video pipeline's frames, an image pipeline's images."""
    output = pipe(
        prompt="a red fox in the snow",
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
        **kwargs,
    )
    return np.asarray(output.frames if hasattr(output, "frames") else output.images)


@pytest.mark.parametrize("model_id", FAMILIES)
def test_family_loads_from_its_folder_with_its_parts(load, model_id):
    pipeline_class, _, parts = FAMILIES[model_id]
    pipe = load(model_id, pipeline_class)
    assert type(pipe).__name__ == pipeline_class
    assert {path: operator.attrgetter(path)(pipe) for path in parts} == parts


@pytest.mark.parametrize("model_id", FAMILIES)
def test_family_renders_and_the_seed_matters(load, model_id):
    pipeline_class, extra, _ = FAMILIES[model_id]
    pipe = load(model_id, pipeline_class)
    first, again, other = (render(pipe, seed, **extra) for seed in (0, 0, 1))
    frames = (extra["num_frames"],) if "num_frames" in extra else ()
    assert first.shape == (1, *frames, 64, 64, 3)
    assert np.isfinite(first).all() and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 0.01


@pytest.mark.parametrize("controlnet_id", CONTROLNETS)
def test_controlnet_joins_its_base_and_the_control_image_matters(load, controlnet_id):
    base_id, base_class, pipeline_class, image_argument = CONTROLNETS[controlnet_id]
    pipe = load(base_id, base_class, (controlnet_id,))
    assert type(pipe).__name__ == pipeline_class
    edges, flat = (
        render(pipe, 0, **{image_argument: image}) for image in (gradient(0), solid((40, 60, 220)))
    )
    assert edges.shape == (1, 64, 64, 3)
    assert np.abs(edges - flat).max() > 0.01


def test_motion_adapter_turns_tiny_sd_into_animatediff():
    from diffusers import AnimateDiffPipeline, MotionAdapter

    adapter = MotionAdapter.from_pretrained(builtin_model_path("builtin:tiny-motion-adapter"))
    pipe = AnimateDiffPipeline.from_pretrained(
        builtin_model_path("builtin:tiny-sd"), motion_adapter=adapter
    )
    pipe.set_progress_bar_config(disable=True)
    frames = render(pipe, 0, num_frames=4)
    assert type(pipe.unet).__name__ == "UNetMotionModel" and frames.shape == (1, 4, 64, 64, 3)
    assert np.abs(frames - render(pipe, 1, num_frames=4)).mean() > 0.01


def test_t5_tokenizer_keeps_its_ids_through_save_and_load(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = t5_tokenizer()
    text = "A fox, at dawn: 3 ÿ"
    ids = tokenizer(text).input_ids
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded(text).input_ids == ids
    assert ids[-1] == loaded.eos_token_id == 1 and loaded.unk_token_id in ids  # ÿ is unknown
    padded = loaded("a fox", padding="max_length", max_length=8).input_ids
    assert padded[-1] == loaded.pad_token_id == 0 and len(padded) == 8
    known = "A fox, at dawn: 3"
    assert loaded.decode(loaded(known).input_ids, skip_special_tokens=True) == known


def test_unknown_builtin_names_the_built_in_models():
    with pytest.raises(SettingsError, match=r"builtin:tiny-flux.*builtin:tiny-controlnet-sd3"):
        builtin_model_path("builtin:tiny-nothing")


def test_sdxl_shaped_has_sdxl_base_parameter_counts():
    with torch.device("meta"):
        pipe = build_sdxl_shaped()
    counts = {
        name: sum(p.numel() for p in getattr(pipe, name).parameters())
        for name in ("unet", "vae", "text_encoder", "text_encoder_2")
    }
    assert counts == {
        "unet": 2_567_463_684,
        "vae": 83_653_863,
        "text_encoder": 123_060_480,
        "text_encoder_2": 694_659_840,
    }
    assert (
        pipe.unet.device.type == "meta" and pipe.default_sample_size * pipe.vae_scale_factor == 1024
    )
