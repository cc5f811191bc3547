"""A prepared render: its family's pipelines, key-frame tensors and per-frame inputs; one
pipeline call a batch of images, or a window of a video."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.frozen import thaw
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.keyframes.weights import plain_text
from giffusion_nb.pipelines.arguments import check_call_arguments
from giffusion_nb.pipelines.families import Family
from giffusion_nb.pipelines.families.base import CONTROL_IMAGE, IMAGE
from giffusion_nb.pipelines.families.windows import Window
from giffusion_nb.pipelines.load import call_parameters
from giffusion_nb.pipelines.lora import LoraAdapters
from giffusion_nb.render.conditioning import KeyFrameTensors, travel
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.render.prompt_checks import check_prompts
from giffusion_nb.render.spec import RenderSpec

FROM_IMAGE = (IMAGE, CONTROL_IMAGE)


@dataclass
class RenderJob:
    """Everything a render needs, prepared once before the first batch."""

    spec: RenderSpec
    family: Family
    pipes: dict[str, Any]  # mode -> pipeline, for the modes this render uses
    height: int
    width: int
    noise: KeyFrameTensors  # "noise" of each key frame, on the pipeline's device and dtype
    prompts: KeyFrameTensors | None = None  # encoded key-frame prompts (None: text prompts)
    guidance: bool = False  # classifier-free guidance: negative prompts are encoded too
    lora: LoraAdapters | None = None  # the spec's LoRA adapters, loaded into the pipeline
    controlnet: bool = False
    inputs: FrameImages | None = None
    scheduler: Any = None
    callback: Any = None
    windows: list[Window] | None = None  # a video family's calls (None: batches of images)
    notes: list[str] = field(default_factory=list)
    _window_images: dict[int, Image.Image] = field(default_factory=dict, repr=False)

    @property
    def plan(self):
        return self.spec.plan

    @property
    def motion(self):
        return self.spec.motion

    @contextmanager
    def closing(self) -> Iterator[None]:
        """Release the input video's decoder when the render ends."""
        try:
            yield
        finally:
            if self.inputs is not None:
                self.inputs.close()

    def mode(self, has_init: bool) -> str:
        """The mode of a frame with or without an init image."""
        return self.family.mode_for(self.controlnet, has_init)

    def init_of(self, frame: int) -> Image.Image | None:
        """The init image of a frame that is not fed by 2D motion: its input, unless the
        input conditions a ControlNet."""
        if self.inputs is None or self.controlnet:
            return None
        return self.inputs[frame]

    @contextmanager
    def _lora_at(self, frame: int) -> Iterator[None]:
        """The LoRA adapters on at ``frame``'s scales for one call (nothing without them);
        prompt embeddings made at other scales are made again when the text encoder has
        LoRA layers."""
        if self.lora is None:
            yield
            return
        scales = self.spec.lora_scales_at(frame)
        if self.prompts is not None:
            self.prompts.made_at(scales if self.lora.text_encoder else None)
        with self.lora.scaled(scales):
            yield

    def denoise(self, steps: list[FrameStep], inits: list[Image.Image] | None) -> list[Image.Image]:
        """Run the pipeline on one batch of frames (all from init images, or none; one
        strength and one scale of each LoRA adapter, see ``same_call_prefix``)."""
        with self._lora_at(steps[0].frame):
            return self._denoise(steps, inits)

    def _denoise(self, steps: list[FrameStep], inits: list[Image.Image] | None) -> list:
        mode = self.mode(inits is not None)
        pipe = self.pipes[mode]
        controls = [self.inputs[step.frame] for step in steps] if self.controlnet else None
        strength = float(self.spec.strengths[steps[0].frame]) if mode in FROM_IMAGE else None
        noise = travel(self.noise, steps, len(self.plan.key_frames) - 1)["noise"]
        arguments = {
            **self.common_arguments(pipe, len(steps)),
            **self.prompt_arguments(steps),
            **self.family.image_arguments(mode, inits, _controls(controls, pipe), strength),
        }
        entry = self._noise_into(mode, pipe, noise, arguments)
        _check_arguments(pipe, arguments, self.family)
        with torch.no_grad(), entry:
            return self.family.images(pipe(**arguments))

    def _noise_into(
        self, mode: str, pipe: Any, noise: torch.Tensor, arguments: dict[str, Any]
    ) -> AbstractContextManager:
        """Where a call's key-frame noise goes: from an init image, into the scheduler's
        noising of it (the returned context, around the call); from noise, into ``arguments``
        as the latents (and a context that does nothing)."""
        if mode in FROM_IMAGE:
            return self.family.noise_entry(pipe, noise)
        arguments.update(self.family.latents_argument(pipe, noise))
        return nullcontext()

    def denoise_window(self, window: Window) -> list[Image.Image]:
        """Run a video family's pipeline on one window: its frames in one call, as one video
        whose frame i has frame ``window.start + i``'s noise, prompt and input (the LoRA
        scales are the same at every frame, see ``video_checks``)."""
        with self._lora_at(window.start):
            return self._denoise_window(window)

    def _denoise_window(self, window: Window) -> list[Image.Image]:
        frames = window.frames
        steps = self.plan.steps_for(frames)
        images = self._window_inputs(frames)
        inits = None if images is None or self.controlnet else images
        controls = images if self.controlnet else None
        mode = self.mode(inits is not None)
        pipe = self.pipes[mode]
        strength = float(self.spec.strengths[window.start]) if mode in FROM_IMAGE else None
        noise = travel(self.noise, steps, len(self.plan.key_frames) - 1)["noise"]
        arguments = {
            **self.common_arguments(pipe, 1),
            **self.family.image_arguments(mode, inits, _video_controls(controls, pipe), strength),
        }
        entry = self._noise_into(mode, pipe, noise, arguments)
        prompts = self.family.frame_prompts(pipe, len(frames), *self.window_prompts(steps))
        with torch.no_grad(), entry, prompts as prompt_arguments:
            arguments.update(prompt_arguments)
            _check_arguments(pipe, arguments, self.family)
            return self.family.images(pipe(**arguments))

    def _window_inputs(self, frames: range) -> list[Image.Image] | None:
        """The input images of a window's frames; those it shares with the window before are
        kept from that one, so an input video streams forward once."""
        if self.inputs is None:
            return None
        before = self._window_images
        self._window_images = {
            frame: before[frame] if frame in before else self.inputs[frame] for frame in frames
        }
        return list(self._window_images.values())

    def window_prompts(
        self, steps: list[FrameStep]
    ) -> tuple[dict[int, str], dict[int, str] | None, dict[str, torch.Tensor] | None]:
        """A window's prompts: the key-frame text each position starts (only the first with
        prompt embeddings), the negative prompt each position starts (None: none), and each
        frame's travelled embeddings (None: text prompts)."""
        key_frames = self.plan.key_frames
        if self.prompts is not None:
            tensors = travel(self.prompts, steps, len(key_frames) - 1, self.family.mask_names)
            return {0: plain_text(key_frames[steps[0].segment].prompt)}, None, tensors
        starts = [
            position
            for position, step in enumerate(steps)
            if position == 0 or step.segment != steps[position - 1].segment
        ]
        segments = {position: key_frames[steps[position].segment] for position in starts}
        prompts = {position: plain_text(kf.prompt) for position, kf in segments.items()}
        negatives = None
        if self.has_negatives:
            negatives = {position: self.negative_of(kf) for position, kf in segments.items()}
        return prompts, negatives, None

    @property
    def has_negatives(self) -> bool:
        """True when some key frame has a negative prompt (its own or the setting's)."""
        return bool(self.spec.settings.negative_prompt.strip()) or any(
            key_frame.negative for key_frame in self.plan.key_frames
        )

    def negative_of(self, key_frame: KeyFrame) -> str:
        """The plain text of a key frame's negative prompt: its own, else the setting's."""
        negative = key_frame.negative
        return plain_text(self.spec.settings.negative_prompt if negative is None else negative)

    def common_arguments(self, pipe: Any, count: int) -> dict[str, Any]:
        """Steps, guidance, size, output type, a generator for each of the ``count`` images
        (or videos) of the call, the step callback, the family's defaults and the user's
        ``pipeline_kwargs``."""
        s = self.spec.settings
        parameters = call_parameters(pipe)
        arguments: dict[str, Any] = {
            "num_inference_steps": s.num_inference_steps,
            **self.family.guidance_arguments(s.guidance_scale),
            "output_type": "pil",
            # One generator per frame, all from the seed: the same scheduler noise at any
            # batch size.
            "generator": [torch.Generator("cpu").manual_seed(s.seed) for _ in range(count)],
            **self.family.call_defaults(),
            **thaw(s.pipeline_kwargs),
        }
        if "height" in parameters:
            arguments["height"], arguments["width"] = self.height, self.width
        if self.callback is not None and "callback_on_step_end" in parameters:
            arguments["callback_on_step_end"] = self.callback
        return arguments

    def prompt_arguments(self, steps: list[FrameStep]) -> dict[str, Any]:
        """Each frame's travelled prompt embeddings, or its key frame's text."""
        last = len(self.plan.key_frames) - 1
        if self.prompts is not None:
            tensors = travel(self.prompts, steps, last, self.family.mask_names)
            return self.family.embeds_arguments(tensors)
        key_frames = [self.plan.key_frames[step.segment] for step in steps]
        prompts = [plain_text(key_frame.prompt) for key_frame in key_frames]
        negatives = None
        if self.has_negatives:
            negatives = [self.negative_of(key_frame) for key_frame in key_frames]
        return self.family.text_arguments(prompts, negatives)


def _controls(controls: list[Image.Image] | None, pipe: Any) -> list[Any] | None:
    """Per frame, one conditioning image for each of several ControlNets."""
    if controls is None:
        return None
    count = len(getattr(pipe.controlnet, "nets", [None]))
    return controls if count == 1 else [[control] * count for control in controls]


def _video_controls(controls: list[Image.Image] | None, pipe: Any) -> list[Any] | None:
    """A window's conditioning frames, once for each of several ControlNets."""
    if controls is None:
        return None
    count = len(getattr(pipe.controlnet, "nets", [None]))
    return controls if count == 1 else [controls] * count


def _check_arguments(pipe: Any, arguments: dict[str, Any], family: Family) -> None:
    """Every argument reaches the pipeline, or it is an error (never filtered away)."""
    unknown = sorted(set(arguments) - call_parameters(pipe))
    if unknown:
        raise RuntimeError(
            f"{type(pipe).__name__} takes no {', '.join(unknown)}, which the {family.name} "
            "family passes; please report this"
        )


def same_call_prefix(steps: list[FrameStep], spec: RenderSpec) -> list[FrameStep]:
    """The leading steps that share the first step's strength and LoRA scales: one strength
    and one scale of each adapter a pipeline call, so frames are the same at any batch size."""

    def key(step: FrameStep) -> tuple:
        return (spec.strengths[step.frame], spec.lora_scales_at(step.frame))

    first = key(steps[0])
    end = 1
    while end < len(steps) and key(steps[end]) == first:
        end += 1
    return steps[:end]


def check_pipeline_accepts(pipe: Any, spec: RenderSpec, family: Family) -> None:
    """The pipeline takes the user's extra arguments, and the negative prompt has an effect."""
    s = spec.settings
    parameters = call_parameters(pipe)
    unknown = sorted(set(s.pipeline_kwargs) - parameters)
    if unknown:
        raise SettingsError(
            "pipeline_kwargs",
            f"{type(pipe).__name__} does not take {', '.join(map(repr, unknown))}; it takes "
            + ", ".join(sorted(parameters)),
        )
    check_call_arguments(type(pipe).__call__, thaw(s.pipeline_kwargs), "pipeline_kwargs")
    if s.negative_prompt.strip():
        family.check_negative_prompt(s.guidance_scale, thaw(s.pipeline_kwargs))
    check_prompts(spec, family)
