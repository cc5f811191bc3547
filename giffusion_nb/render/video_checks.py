"""What a video family renders differently from images (windows of frames in one call), checked
before the first call."""

from __future__ import annotations

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families import Family
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.validation import MOTION_FIELDS


def check_video(spec: RenderSpec, family: Family, *, from_images: bool) -> None:
    """No 2D motion, two frames at least, scheduled pacing, one LoRA scale of each adapter and,
    from input images, one strength that leaves a step to denoise."""
    s = spec.settings
    if spec.motion is not None:
        field = next(name for name in MOTION_FIELDS if getattr(s, name).strip())
        raise SettingsError(
            field,
            f"{family.name} renders a window of frames in one call, while 2D motion makes each "
            "frame from the one before; clear zoom, angle, translate_x, translate_y and the "
            "perspective flip",
        )
    if s.diffusion_cadence > 1:
        raise SettingsError(
            "diffusion_cadence",
            f"{family.name} renders a window of frames in one call, so each frame is diffused; "
            "use 1 (interpolate_frames puts in-betweens into the output)",
        )
    if spec.num_frames < 2:
        raise SettingsError(
            "prompts", f"{family.name} renders videos: add a key frame after frame 0"
        )
    if s.pacing != "schedule":
        raise SettingsError(
            "pacing",
            f"{family.name} renders windows of frames, and even pacing probes single pictures; "
            "use pacing schedule",
        )
    _check_constant_lora_scales(spec, family)
    for name, values in (
        ("guidance_scale", spec.guidance_scales),
        ("num_inference_steps", spec.step_counts),
    ):
        if len(set(values.tolist())) > 1:
            raise SettingsError(
                name, f"{family.name} denoises a window of frames in one call; use a number"
            )
    if not from_images or not (s.image_input or s.video_input):
        return
    if len(set(spec.strengths)) > 1:
        raise SettingsError(
            "strength",
            f"{family.name} denoises a window of frames from one strength; use a number",
        )
    if int(spec.steps_at(0) * spec.strengths[0]) < 1:
        raise SettingsError(
            "strength",
            f"{spec.strengths[0]:g} of {spec.steps_at(0)} steps leaves no step to denoise "
            "the input video with; raise strength or num_inference_steps",
        )


def _check_constant_lora_scales(spec: RenderSpec, family: Family) -> None:
    """A window is one call, and a call has one scale of each adapter."""
    if spec.lora_scales is None:
        return
    changing = np.flatnonzero((spec.lora_scales != spec.lora_scales[0]).any(axis=0))
    if changing.size:
        line = spec.lora[int(changing[0])]
        raise SettingsError(
            "lora",
            f"{family.name} denoises a window of frames in one call, at one scale of each "
            f"adapter, and the scale {line.scale!r} changes over the frames; use a number",
            line=line.line,
        )
