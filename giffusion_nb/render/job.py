"""A prepared render: its family's pipelines, key-frame tensors and per-frame inputs, and the one
call builder that renders a batch of images or a window of a video in one pipeline call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.frozen import thaw
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.keyframes.weights import plain_text
from giffusion_nb.media.key_frame_pictures import load_key_frame_image
from giffusion_nb.pipelines.arguments import check_call_arguments
from giffusion_nb.pipelines.families import Family
from giffusion_nb.pipelines.families.base import FROM_IMAGE, CallPrompts, FrameSize
from giffusion_nb.pipelines.families.windows import Window
from giffusion_nb.pipelines.load import call_parameters
from giffusion_nb.pipelines.lora import LoraAdapters
from giffusion_nb.render.coherence import ColourCoherence, alone_in_call
from giffusion_nb.render.conditioning import KeyFrameNoise, KeyFrameTensors, travel
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.render.prompt_checks import check_prompts
from giffusion_nb.render.spec import RenderSpec


@dataclass
class RenderJob:
    """Everything a render needs, prepared once before the first call."""

    spec: RenderSpec
    family: Family
    pipes: dict[str, Any]  # mode -> pipeline, for the modes this render uses
    size: FrameSize
    noise: KeyFrameNoise
    prompts: KeyFrameTensors | None = None  # encoded key-frame prompts (None: text prompts)
    lora: LoraAdapters | None = None  # the spec's LoRA adapters, loaded into the pipeline
    controlnet: bool = False
    inputs: FrameImages | None = None
    scheduler: Any = None
    callback: Any = None
    windows: list[Window] | None = None  # a video family's calls (None: batches of images)
    image_frames: tuple[int, ...] = ()  # the key frames with an `--image` (or painted)
    painted: dict[int, Image.Image] = field(default_factory=dict)  # by the key-frame model
    # Frames rendered earlier (a run folder's), for windows that start from one (None: none)
    earlier: Callable[[int], Image.Image | None] | None = None
    _last_window: dict[int, Image.Image] = field(default_factory=dict, repr=False)
    coherence: ColourCoherence | None = None  # colour coherence (None: off)
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

    # --- the calls ------------------------------------------------------------------------

    def denoise(self, steps: list[FrameStep], inits: list[Image.Image] | None) -> list[Image.Image]:
        """One call on a batch of images (all from init images, or none; one strength and one
        scale of each LoRA adapter, see ``same_call_prefix``)."""
        controls = [self.inputs[step.frame] for step in steps] if self.controlnet else None
        return self._call(steps, inits, controls)

    def denoise_window(self, window: Window) -> list[Image.Image]:
        """One call on a video family's window: its frames as one video whose frame i has
        frame ``window.start + i``'s noise, prompt and input."""
        images = self._window_inputs(window.frames)
        inits = None if images is None or self.controlnet else images
        controls = images if self.controlnet else None
        frames = self._call(self.plan.steps_for(window.frames), inits, controls, window)
        self._last_window = dict(zip(window.frames, frames, strict=True))
        return frames

    def _call(
        self,
        steps: list[FrameStep],
        inits: list[Image.Image] | None,
        controls: list[Image.Image] | None,
        window: Window | None = None,
    ) -> list[Image.Image]:
        """The one call builder: arguments in the diffusers pipelines' order of steps."""
        video = self.windows is not None
        with self._lora_at(steps[0].frame):
            # 1. The pipeline of the frames' mode
            mode = self.mode(inits is not None)
            pipe = self.pipes[mode]
            # 2. Steps, guidance, size, generators, callback, the family's and the user's
            arguments = self.common_arguments(pipe, 1 if video else len(steps), steps[0].frame)
            # 3. Images: init images and their strength, ControlNet conditioning
            strength = float(self.spec.strengths[steps[0].frame]) if mode in FROM_IMAGE else None
            layout = _video_controls if video else _controls
            images = self.family.image_arguments(mode, inits, layout(controls, pipe), strength)
            arguments.update(images)
            if window is not None:  # the key-frame images a video model meets in the window
                pictures = self._key_frame_pictures(window)
                arguments.update(self.family.key_frame_arguments(pipe, window, pictures))
            # 4. The key-frame noise, travelled to each frame
            noise = self.noise.travelled(steps, len(self.plan.key_frames) - 1)
            entry = self.family.noise_entry(pipe, mode, noise, self.size, arguments)
            # 5. The prompts, travelled to each frame
            prompts = self.family.call_prompts(pipe, self.call_prompts(steps))
            # 6. The call
            with torch.no_grad(), entry, prompts as prompt_arguments:
                arguments.update(prompt_arguments)
                _check_arguments(pipe, arguments, self.family)
                return self.family.images(pipe(**arguments))

    def _key_frame_pictures(self, window: Window) -> dict[int, Image.Image]:
        """The pictures of the key frames in ``window`` (painted, or loaded for its call), and
        of the earlier frame it starts from."""
        pictures = {
            frame: self.painted.get(frame) or load_key_frame_image(self.plan.key_frames, frame)
            for frame in self.image_frames
            if frame in window.frames
        }
        if window.condition is not None and window.condition not in pictures:
            pictures[window.condition] = self._rendered(window.condition)
        return pictures

    def _rendered(self, frame: int) -> Image.Image:
        """Frame ``frame`` as rendered: by the last window, else from the run folder, else
        rendered now with the windows before it (frames depend only on the settings)."""
        if frame in self._last_window:
            return self._last_window[frame]
        saved = self.earlier(frame) if self.earlier is not None else None
        if saved is not None:
            return saved
        window = next(w for w in self.windows if frame in w.keep)
        return dict(zip(window.frames, self.denoise_window(window), strict=True))[frame]

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

    # --- arguments ------------------------------------------------------------------------

    def call_prompts(self, steps: list[FrameStep]) -> CallPrompts:
        """Each frame's travelled prompt tensors (with prompt embeddings), its key frame's
        text, and its key frame's negative text when some key frame has one."""
        key_frames = [self.plan.key_frames[step.segment] for step in steps]
        tensors = None
        if self.prompts is not None:
            last = len(self.plan.key_frames) - 1
            tensors = travel(self.prompts, steps, last, self.family.mask_names)
        negatives = None
        if self.has_negatives:
            negatives = [self.negative_of(key_frame) for key_frame in key_frames]
        return CallPrompts(
            tensors=tensors,
            texts=[plain_text(key_frame.prompt) for key_frame in key_frames],
            negatives=negatives,
            segments=[step.segment for step in steps],
        )

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

    def common_arguments(self, pipe: Any, count: int, frame: int = 0) -> dict[str, Any]:
        """Steps and guidance (``frame``'s: one value a call), size, output type, a generator
        for each of the ``count`` images (or videos) of the call, the step callback, the
        family's defaults and the user's ``pipeline_kwargs``."""
        s = self.spec.settings
        parameters = call_parameters(pipe)
        arguments: dict[str, Any] = {
            "num_inference_steps": self.spec.steps_at(frame),
            **self.family.guidance_arguments(pipe, self.spec.guidance_at(frame)),
            "output_type": "pil",
            # One generator per frame, all from the seed: the same scheduler noise at any
            # batch size.
            "generator": [torch.Generator("cpu").manual_seed(s.seed) for _ in range(count)],
            **self.family.call_defaults(pipe, self.size),
            **thaw(s.pipeline_kwargs),
        }
        if "height" in parameters:
            arguments["height"], arguments["width"] = self.size.height, self.size.width
        if self.callback is not None and "callback_on_step_end" in parameters:
            arguments["callback_on_step_end"] = self.callback
        return arguments


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
    """The leading steps that share the first step's strength, LoRA scales, guidance and step
    count: one of each a pipeline call, so frames are the same at any batch size
    (frame 0 as the colour reference gets a call of its own)."""

    def key(step: FrameStep) -> tuple:
        return (
            spec.strengths[step.frame],
            spec.lora_scales_at(step.frame),
            spec.guidance_at(step.frame),
            spec.steps_at(step.frame),
            alone_in_call(spec.settings, step.frame),
        )

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
        problem = family.negative_prompt_problem(spec.most_guidance, thaw(s.pipeline_kwargs))
        if problem is not None:
            raise SettingsError("negative_prompt", problem)
    check_prompts(spec, family)
