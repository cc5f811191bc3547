"""From a spec and a loaded pipeline to frames: prepare the job, then render batches (a video
family: windows; with 2D motion, one frame after another from the warped previous frame)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.frozen import thaw
from giffusion_nb.media.motion import warp
from giffusion_nb.pipelines.families import Family, family_of
from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    mode_words,
)
from giffusion_nb.pipelines.families.windows import Window
from giffusion_nb.pipelines.load import fit_vae_to_frames
from giffusion_nb.pipelines.lora import drop_adapters, load_adapters
from giffusion_nb.pipelines.schedulers import build_scheduler, use_scheduler
from giffusion_nb.render.conditioning import KeyFrameTensors, key_frame_noise
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.render.job import RenderJob, check_pipeline_accepts, same_call_prefix
from giffusion_nb.render.prompt_checks import key_frame_texts
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.render.video_checks import check_video

_logger = logging.getLogger(__name__)
StepCallback = Callable[[Any, int, Any, dict], dict]


@dataclass(frozen=True)
class RenderedFrame:
    """One finished frame of the animation."""

    index: int
    image: Image.Image


class Siblings:
    """A loaded pipeline's sibling pipelines (image-to-image, ControlNet…), made once each
    with ``from_pipe`` so they share its weights."""

    def __init__(self) -> None:
        self._of: Any = None
        self._made: dict[str, Any] = {}

    def get(self, pipe: Any, family: Family, mode: str) -> Any:
        if self._of is not pipe:
            self._of, self._made = pipe, {}
        if mode not in self._made:
            self._made[mode] = family.sibling(pipe, mode)
        return self._made[mode]


def prepare_job(
    spec: RenderSpec,
    pipe: Any,
    device: torch.device,
    *,
    siblings: Siblings | None = None,
    callback: StepCallback | None = None,
) -> RenderJob:
    """Check the spec against the pipeline's family and prepare everything the batches need."""
    s = spec.settings
    # 1. The family, and the pipelines its frames need
    family = family_of(pipe)
    loaded = family.mode_of(pipe)
    if loaded == INPAINT:
        raise SettingsError(
            "pipeline_class",
            f"{type(pipe).__name__} inpaints, which needs a mask that giffusion_nb has no input "
            f"for; choose {family.pipelines[TEXT]}",
        )
    controlnet = loaded in (CONTROL, CONTROL_IMAGE)
    windows = family.windows(spec.num_frames, s.video_window, s.video_overlap)
    if windows is not None:
        check_video(spec, family, from_images=not controlnet)
    inputs = _frame_inputs(spec, family.size_multiple(pipe))
    modes = _modes(spec, family, loaded, controlnet, inputs is not None)
    pipes = {mode: (siblings or Siblings()).get(pipe, family, mode) for mode in modes}
    for used in pipes.values():
        check_pipeline_accepts(used, spec, family)
    # 2. Frame size and latent channels
    height, width = frame_size(pipe, family, spec, inputs)
    channels = _latent_channels(pipe, family, s.num_latent_channels)
    fit_vae_to_frames(pipe, height, width)
    # 3. Key-frame noise and prompts, made as batches need them
    shape = family.noise_shape(pipe, channels, height, width)
    plan = spec.plan

    def make_noise(indices: list[int]) -> dict[str, torch.Tensor]:
        noise = [key_frame_noise(plan.key_frame_seed(index), shape) for index in indices]
        return {"noise": torch.stack(noise).to(device=device, dtype=pipe.dtype)}

    guidance = family.uses_guidance(s.guidance_scale, thaw(s.pipeline_kwargs))
    job = RenderJob(
        spec=spec,
        family=family,
        pipes=pipes,
        height=height,
        width=width,
        noise=KeyFrameTensors(make_noise),
        guidance=guidance,
        controlnet=controlnet,
        inputs=inputs,
        callback=callback,
        windows=windows,
    )
    if s.use_prompt_embeds:
        job.prompts = KeyFrameTensors(_prompt_encoder(spec, family, pipe, device, guidance))
    # 4. The settings' scheduler
    if s.scheduler != "default" or s.scheduler_kwargs:
        job.scheduler = build_scheduler(
            pipe.scheduler, s.scheduler, thaw(s.scheduler_kwargs), s.num_inference_steps
        )
    # 5. LoRA adapters: loaded once (kept for the next render of the same `lora`), on only
    # during a call
    if spec.lora:
        job.lora = load_adapters(pipe, family.name, spec.lora)
    else:
        drop_adapters(pipe)
    return job


def _prompt_encoder(
    spec: RenderSpec, family: Family, pipe: Any, device: torch.device, guidance: bool
) -> Callable[[list[int]], dict[str, torch.Tensor]]:
    key_frames = spec.plan.key_frames
    default_negative = spec.settings.negative_prompt

    def encode(indices: list[int]) -> dict[str, torch.Tensor]:
        texts = [key_frame_texts(key_frames[index], default_negative) for index in indices]
        prompts = [prompt for prompt, _ in texts]
        negatives = [negative for _, negative in texts] if guidance else None
        with torch.no_grad():
            return family.encode_prompts(pipe, prompts, negatives, device).per_prompt

    return encode


def _frame_inputs(spec: RenderSpec, multiple: int) -> FrameImages | None:
    s = spec.settings
    if not (s.image_input or s.video_input):
        return None
    return FrameImages(
        image_input=s.image_input,
        video_input=s.video_input,
        num_frames=spec.num_frames,
        multiple=multiple,
        size=(s.width, s.height),
    )


def _modes(
    spec: RenderSpec, family: Family, loaded: str, controlnet: bool, has_inputs: bool
) -> set[str]:
    """The modes of the render's frames; the family must have each, and the loaded class
    must fit them (an image-to-image class needs an image for every frame)."""
    field = "video_input" if spec.settings.video_input else "image_input"
    if family.needs_image and not has_inputs:
        raise SettingsError(
            "image_input", f"{family.name} edits an image: set image_input or video_input"
        )
    if controlnet and not has_inputs:
        raise SettingsError(
            "image_input",
            "a ControlNet needs a conditioning image for every frame: set image_input or "
            "video_input",
        )
    first_has_init = has_inputs and not controlnet
    modes = {family.mode_for(controlnet, first_has_init)}
    if spec.motion is not None:
        modes.add(family.mode_for(controlnet, True))
    for mode in sorted(modes):
        if mode not in family.pipelines:
            cause = "2D motion" if spec.motion is not None and not has_inputs else field
            raise SettingsError(
                "zoom" if cause == "2D motion" else field,
                f"{family.name} has no {mode_words(mode)} pipeline in diffusers, which "
                f"{cause} needs",
            )
    if loaded in (IMAGE, CONTROL_IMAGE) and modes & {TEXT, CONTROL}:
        raise SettingsError(
            "image_input",
            f"{family.pipelines[loaded]} starts every frame from an image: set image_input or "
            f"video_input, or choose {family.pipelines[TEXT]}",
        )
    return modes


def frame_size(
    pipe: Any, family: Family, spec: RenderSpec, inputs: FrameImages | None
) -> tuple[int, int]:
    """(height, width) of the frames: the input media's, else the settings', else the model's."""
    if inputs is not None:
        width, height = inputs.size
    else:
        native = family.native_size(pipe)
        height = spec.settings.height or native
        width = spec.settings.width or native
    multiple = family.size_multiple(pipe)
    for name, value in (("height", height), ("width", width)):
        if value % multiple:
            raise SettingsError(
                name, f"{family.name} needs multiples of {multiple} pixels but {name} is {value}"
            )
    return height, width


def _latent_channels(pipe: Any, family: Family, asked: int | None) -> int:
    channels = family.latent_channels(pipe)
    if asked is not None and asked != channels:
        raise SettingsError(
            "num_latent_channels",
            f"the model starts from {channels} latent channels, got {asked}; leave it empty "
            "for the model's",
        )
    return channels


# --- the frames ----------------------------------------------------------------------------


def render_frames(
    job: RenderJob,
    frames: Iterable[int] | None,
    stop: threading.Event,
    *,
    previous: Image.Image | None = None,
    on_message: Callable[[str], None] = _logger.warning,
) -> Iterator[RenderedFrame]:
    """Denoise ``frames`` (default: all) batch by batch with the spec's scheduler, yielding
    each frame when its batch is done; a batch interrupted by ``stop`` is dropped."""
    pipes = list(job.pipes.values())
    with use_scheduler(pipes, job.scheduler), job.closing(), job.family.rendering(pipes):
        if job.motion is not None:
            yield from _frames_in_order(job, frames, stop, previous, on_message)
            return
        if job.windows is not None:
            yield from _frames_in_windows(job, frames, stop)
            return
        steps = job.plan.steps_for(frames)
        start, size = 0, job.spec.settings.batch_size
        while start < len(steps) and not stop.is_set():
            part = same_call_prefix(steps[start : start + size], job.spec)
            inits = [job.init_of(step.frame) for step in part]
            try:
                images = job.denoise(part, None if inits[0] is None else inits)
            except torch.cuda.OutOfMemoryError as exc:
                size = _smaller_batch(len(part), exc, on_message)
                continue
            if stop.is_set():
                return
            start += len(part)
            for step, image in zip(part, images, strict=True):
                yield RenderedFrame(step.frame, image)


def _frames_in_windows(
    job: RenderJob, frames: Iterable[int] | None, stop: threading.Event
) -> Iterator[RenderedFrame]:
    """A video family: each window holding a frame asked for is rendered in one call (its
    other frames are context), and the frames asked for are yielded."""
    for window, wanted in _windows_of(job, frames):
        if stop.is_set():
            return
        try:
            images = job.denoise_window(window)
        except torch.cuda.OutOfMemoryError as exc:
            raise SettingsError(
                "video_window",
                f"ran out of GPU memory denoising {len(window.frames)} frames in one call; use "
                "a smaller video_window, smaller frames (height, width) or cpu_offload",
            ) from exc
        if stop.is_set():
            return
        for frame in wanted:
            yield RenderedFrame(frame, images[frame - window.start])


def _windows_of(job: RenderJob, frames: Iterable[int] | None) -> Iterator[tuple[Window, list]]:
    """Each window with the frames of ``frames`` (default: all) it keeps, if it keeps any."""
    wanted = {step.frame for step in job.plan.steps_for(frames)}
    for window in job.windows:
        kept = [frame for frame in window.keep if frame in wanted]
        if kept:
            yield window, kept


def call_groups(job: RenderJob, frames: Iterable[int] | None) -> list[list[int]]:
    """The frames of ``frames`` (default: all) that each pipeline call renders, in order: a
    video family's windows, else batches of ``batch_size`` split where the strength or a LoRA
    scale changes. Ray hands them out whole."""
    if job.windows is not None:
        return [kept for _window, kept in _windows_of(job, frames)]
    steps = job.plan.steps_for(frames)
    size = job.spec.settings.batch_size
    groups: list[list[int]] = []
    start = 0
    while start < len(steps):
        part = same_call_prefix(steps[start : start + size], job.spec)
        groups.append([step.frame for step in part])
        start += len(part)
    return groups


def _frames_in_order(
    job: RenderJob,
    frames: Iterable[int] | None,
    stop: threading.Event,
    previous: Image.Image | None,
    on_message: Callable[[str], None],
) -> Iterator[RenderedFrame]:
    """2D motion: each frame starts from the previous one, warped; one frame at a time."""
    wanted = list(range(job.plan.num_frames)) if frames is None else sorted(set(frames))
    if wanted and wanted != list(range(wanted[0], wanted[0] + len(wanted))):
        raise ValueError("2D motion renders consecutive frames")
    if wanted and wanted[0] > 0 and previous is None:
        raise ValueError("2D motion renders from frame 0, or from the frame before")
    padding = job.spec.settings.padding_mode
    for frame in wanted:
        if previous is not None:
            init = warp(previous, job.motion.step(frame), padding)
        else:
            init = job.init_of(frame)
        if stop.is_set():
            return
        try:
            (image,) = job.denoise([job.plan.steps[frame]], None if init is None else [init])
        except torch.cuda.OutOfMemoryError as exc:
            _smaller_batch(1, exc, on_message)
        if stop.is_set():
            return
        previous = image
        yield RenderedFrame(frame, image)


def _smaller_batch(size: int, error: BaseException, on_message: Callable[[str], None]) -> int:
    """After running out of GPU memory: half the batch size, or a clear error at 1."""
    if size == 1:
        raise SettingsError(
            "batch_size",
            "ran out of GPU memory rendering one frame at a time; use smaller frames "
            "(height, width), fewer steps, or a GPU with more memory",
        ) from error
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    on_message(f"Out of GPU memory at batch size {size}; going on at {size // 2}")
    return size // 2
