"""Key frames painted by an image model (``key_frame_model``), for a video model that fills the
segments between them: each key frame without its own ``--image`` gets one picture, drawn from
its prompt and its key-frame seed, so the pictures (and the frames) depend only on the settings
and are the same in every process that paints them (a resume, each Ray worker)."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.weights import plain_text
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.render.spec import RenderSpec


def paint_key_frames(
    spec: RenderSpec, device: torch.device, height: int, width: int
) -> dict[int, Image.Image]:
    """Frame -> picture of every key frame without an ``--image`` (none without
    ``key_frame_model``), at the video's size; the image model is let go afterwards."""
    s = spec.settings
    todo = [key_frame for key_frame in spec.plan.key_frames if key_frame.image is None]
    if not s.key_frame_model or not todo:
        return {}
    painter = load_pipeline(s.key_frame_model, device=device)
    if family_of(painter).windows(painter, 1, None, 0, [], "overlap") is not None:
        raise SettingsError(
            "key_frame_model", f"{type(painter).__name__} renders videos; choose an image model"
        )
    pictures = {}
    for key_frame in todo:
        index = spec.plan.key_frames.index(key_frame)
        negative = key_frame.negative if key_frame.negative is not None else s.negative_prompt
        arguments: dict[str, Any] = {
            "prompt": plain_text(key_frame.prompt),
            "height": height,
            "width": width,
            "num_inference_steps": spec.steps_at(key_frame.frame),
            "guidance_scale": spec.guidance_at(key_frame.frame),
            "generator": torch.Generator("cpu").manual_seed(spec.plan.key_frame_seed(index)),
        }
        if plain_text(negative):
            arguments["negative_prompt"] = plain_text(negative)
        with torch.no_grad():
            (pictures[key_frame.frame],) = painter(**arguments).images
    del painter
    return pictures
