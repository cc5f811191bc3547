"""A prepared render: pipelines, key-frame tensors, per-frame inputs; one pipeline call a batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.keyframes.plan import FramePlan
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.media.motion import MotionSchedule
from giffusion_nb.pipelines.load import call_parameters
from giffusion_nb.render.conditioning import travel
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.settings import Settings


@dataclass
class RenderJob:
    """Everything a render needs, prepared once before the first batch."""

    settings: Settings
    pipe: Any  # text-to-image (or ControlNet) pipeline
    plan: FramePlan
    height: int
    width: int
    latents: torch.Tensor  # (key frames, C, h, w)
    image_pipe: Any = None  # image-to-image sibling, for init images and 2D motion
    inputs: FrameImages | None = None
    controlnet: bool = False
    motion: MotionSchedule | None = None
    scheduler: Any = None
    strengths: np.ndarray | None = None
    embeds: dict[str, torch.Tensor] = field(default_factory=dict)
    negative: dict[str, torch.Tensor] = field(default_factory=dict)
    callback: Any = None

    @property
    def pipes(self) -> list[Any]:
        return [pipe for pipe in (self.pipe, self.image_pipe) if pipe is not None]

    @contextmanager
    def closing(self) -> Iterator[None]:
        """Release the input video's decoder when the render ends."""
        try:
            yield
        finally:
            if self.inputs is not None:
                self.inputs.close()

    def denoise(self, steps: list[FrameStep], inits: list[Image.Image] | None) -> list[Image.Image]:
        """Run the pipeline on one batch of frames: from noise, or from init images."""
        arguments = self.batch_arguments(steps)
        from_image = inits is not None and self.image_pipe is not None
        pipe = self.image_pipe if from_image else self.pipe
        if from_image:
            arguments["image"] = inits
            arguments["strength"] = float(self.strengths[steps[0].frame])
        if self.controlnet and self.inputs is not None:
            controls = [self.inputs[step.frame] for step in steps]
            count = len(getattr(pipe.controlnet, "nets", [None]))
            # several ControlNets: per frame, one conditioning image for each net
            arguments["control_image" if from_image else "image"] = (
                controls if count == 1 else [[control] * count for control in controls]
            )
        parameters = call_parameters(pipe)
        arguments = {key: value for key, value in arguments.items() if key in parameters}
        with torch.no_grad():
            return pipe(**arguments).images

    def batch_arguments(self, steps: list[FrameStep]) -> dict[str, Any]:
        """Pipeline arguments of a batch: each frame's slerped latent and prompt embedding."""
        s = self.settings
        arguments = {
            "num_inference_steps": s.num_inference_steps,
            "guidance_scale": s.guidance_scale,
            "height": self.height,
            "width": self.width,
            "output_type": "pil",
            "callback_on_step_end": self.callback,
            **s.pipeline_kwargs,
        }
        arguments["latents"] = travel(self.latents, steps)
        # One generator per frame, all from the seed: identical scheduler noise at any batch size.
        arguments["generator"] = [torch.Generator("cpu").manual_seed(s.seed) for _ in steps]
        if s.use_prompt_embeds:
            for name, tensors in self.embeds.items():
                arguments[name] = travel(tensors, steps)
            for name, tensor in self.negative.items():
                arguments[name] = tensor.expand(len(steps), *tensor.shape[1:])
        else:
            arguments["prompt"] = [self.plan.key_frames[step.segment].prompt for step in steps]
            if s.negative_prompt.strip():
                arguments["negative_prompt"] = [s.negative_prompt] * len(steps)
        return arguments


def frame_size(pipe: Any, settings: Settings, inputs: FrameImages | None) -> tuple[int, int]:
    """(height, width) of the frames: the input media's, else the settings', else the model's."""
    scale = getattr(pipe, "vae_scale_factor", 8)
    if inputs is not None:
        width, height = inputs.size
    else:
        native = native_size(pipe)
        height, width = settings.height or native, settings.width or native
    for name, value in (("height", height), ("width", width)):
        if value % scale:
            raise SettingsError(
                name, f"has to be divisible by {scale} (the VAE scale factor) but is {value}"
            )
    unet = getattr(pipe, "unet", None)
    channels = getattr(getattr(unet, "config", None), "in_channels", None)
    if channels is not None and channels != settings.num_latent_channels:
        raise SettingsError(
            "num_latent_channels",
            f"the model's UNet takes {channels} latent channels, "
            f"got {settings.num_latent_channels}",
        )
    return height, width


def native_size(pipe: Any) -> int:
    """The frame size the model was trained at, in pixels (512 when unknown)."""
    scale = getattr(pipe, "vae_scale_factor", 8)
    sample = getattr(pipe, "default_sample_size", None)
    if sample is None:
        unet = getattr(pipe, "unet", None)
        sample = getattr(getattr(unet, "config", None), "sample_size", None)
    return sample * scale if isinstance(sample, int) else 512


def check_pipeline_accepts(pipe: Any, settings: Settings) -> None:
    """The pipeline takes the user's extra arguments, prompt embeddings and negative prompt."""
    parameters = call_parameters(pipe)
    name = type(pipe).__name__
    unknown = sorted(set(settings.pipeline_kwargs) - parameters)
    if unknown:
        raise SettingsError(
            "pipeline_kwargs",
            f"{name} does not take {', '.join(map(repr, unknown))}; it takes "
            + ", ".join(sorted(parameters)),
        )
    if settings.use_prompt_embeds and "prompt_embeds" not in parameters:
        raise SettingsError("use_prompt_embeds", f"{name} does not take prompt_embeds; turn it off")
    if settings.negative_prompt.strip():
        if "negative_prompt" not in parameters:
            raise SettingsError("negative_prompt", f"{name} does not take a negative prompt")
        if settings.guidance_scale <= 1:
            raise SettingsError(
                "negative_prompt",
                "has no effect with guidance_scale <= 1; raise guidance_scale or clear it",
            )


def frame_strengths(strength: float | str, num_frames: int) -> np.ndarray:
    """The init-image strength of every frame (a number, or a key-frame string)."""
    if isinstance(strength, str):
        return curve_values(strength, num_frames, field="strength")
    return np.full(num_frames, float(strength))


def equal_strength_prefix(steps: list[FrameStep], strengths: np.ndarray) -> list[FrameStep]:
    """The leading steps that share the first step's strength (one strength per pipeline call)."""
    first = strengths[steps[0].frame]
    end = 1
    while end < len(steps) and strengths[steps[end].frame] == first:
        end += 1
    return steps[:end]
