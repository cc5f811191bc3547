"""Golden frames: every named family on its tiny pipeline renders the frames recorded before the
render core was rewritten (wave 3), within 1 of 255. A change to the core that moves a pixel
of any family by more than that fails here.

The goldens were written by this test with ``GIFFUSION_NB_WRITE_GOLDEN=1`` (once, on the code
before the rewrite); without it the test only compares.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import gradient

from giffusion_nb import RenderSession
from giffusion_nb.pipelines.load import load_pipeline

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("GIFFUSION_NB_WRITE_GOLDEN") == "1"
PROMPTS = "0: a red fox\n3: a blue lion"

# name: (model id, pipeline class, ControlNet ids, settings)
CASES = {
    "sd": ("builtin:tiny-sd", "StableDiffusionPipeline", (), {"negative_prompt": "blurry"}),
    "sd-img2img": ("builtin:tiny-sd", "StableDiffusionPipeline", (), {"image": True}),
    "sd-motion": (
        "builtin:tiny-sd",
        "StableDiffusionPipeline",
        (),
        {"zoom": "0: (1.05)", "angle": "0: (3)"},
    ),
    "sd-controlnet": (
        "builtin:tiny-sd",
        "StableDiffusionPipeline",
        ("builtin:tiny-controlnet",),
        {"image": True},
    ),
    "sd-text-prompts": (
        "builtin:tiny-sd",
        "StableDiffusionPipeline",
        (),
        {"use_prompt_embeds": False},
    ),
    "sd-v": ("builtin:tiny-sd-v", "StableDiffusionPipeline", (), {}),
    "sdxl": ("builtin:tiny-sdxl", "StableDiffusionXLPipeline", (), {"negative_prompt": "blurry"}),
    "sdxl-img2img": ("builtin:tiny-sdxl", "StableDiffusionXLPipeline", (), {"image": True}),
    "sd3": ("builtin:tiny-sd3", "StableDiffusion3Pipeline", (), {"negative_prompt": "blurry"}),
    "sd3-img2img": ("builtin:tiny-sd3", "StableDiffusion3Pipeline", (), {"image": True}),
    "flux": (
        "builtin:tiny-flux",
        "FluxPipeline",
        (),
        {"negative_prompt": "blurry", "pipeline_kwargs": {"true_cfg_scale": 2.0}},
    ),
    "flux-img2img": ("builtin:tiny-flux", "FluxPipeline", (), {"image": True}),
    "pixart-alpha": ("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline", (), {}),
    "pixart-sigma": ("builtin:tiny-pixart-sigma", "PixArtSigmaPipeline", (), {}),
    "ip2p": ("builtin:tiny-ip2p", "StableDiffusionInstructPix2PixPipeline", (), {"image": True}),
    "animatediff": (
        "builtin:tiny-animatediff",
        "AnimateDiffPipeline",
        (),
        {"prompts": "0: a red fox\n5: a blue lion", "video_window": 4, "video_overlap": 2},
    ),
}


@functools.cache
def _pipeline(model_id: str, pipeline_class: str, controlnets: tuple[str, ...]):
    return load_pipeline(model_id, pipeline_class, controlnets, device="cpu")


def _render(name: str, tmp_path: Path) -> np.ndarray:
    model_id, pipeline_class, controlnets, extra = CASES[name]
    extra = dict(extra)
    if extra.pop("image", False):
        gradient(0).save(tmp_path / "gradient.png")
        extra["image_input"] = str(tmp_path / "gradient.png")
    settings = {
        "model_id": model_id,
        "pipeline_class": pipeline_class,
        "controlnet_ids": list(controlnets),
        "prompts": PROMPTS,
        "num_inference_steps": 2,
        "height": 64,
        "width": 64,
        "guidance_scale": 3.0,
        "strength": 0.6,
        "seed": 7,
        **extra,
    }
    pipe = _pipeline(model_id, pipeline_class, controlnets)
    session = RenderSession(output_dir=tmp_path, device="cpu", pipeline=pipe, **settings)
    return np.stack([np.asarray(frame.image.convert("RGB")) for frame in session.render_frames()])


@pytest.mark.parametrize("name", list(CASES))
def test_the_frames_of_every_family_are_the_golden_ones(name, tmp_path):
    frames = _render(name, tmp_path)
    path = GOLDEN / f"{name}.npz"
    if WRITE:
        GOLDEN.mkdir(exist_ok=True)
        np.savez_compressed(path, frames=frames)
    golden = np.load(path)["frames"]
    assert frames.shape == golden.shape
    difference = np.abs(frames.astype(int) - golden.astype(int)).max()
    assert difference <= 1, f"{name}: frames moved by up to {difference} of 255"
