"""A prepared job's frames: its pipeline calls in order (batches of images, a video family's
windows, or with 2D motion one frame after another from the warped previous frame)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.media.motion import warp
from giffusion_nb.pipelines.families.windows import Window
from giffusion_nb.pipelines.schedulers import use_scheduler
from giffusion_nb.render.cadence import cadenced_frames
from giffusion_nb.render.job import RenderJob, same_call_prefix

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedFrame:
    """One finished frame of the animation."""

    index: int
    image: Image.Image


def render_frames(
    job: RenderJob,
    frames: Iterable[int] | None,
    stop: threading.Event,
    *,
    previous: Image.Image | None = None,
    on_message: Callable[[str], None] = _logger.warning,
) -> Iterator[RenderedFrame]:
    """Render ``frames`` (default: all) call by call with the spec's scheduler, yielding each
    frame when its call is done; a call interrupted by ``stop`` is dropped."""
    pipes = list(job.pipes.values())
    with use_scheduler(pipes, job.scheduler), job.closing(), job.family.rendering(pipes):
        if job.motion is not None:
            yield from _frames_in_order(job, frames, stop, previous, on_message)
            return
        batch = [job.spec.settings.batch_size]  # halved after running out of GPU memory
        for window, steps in _calls(job, frames, batch):
            if stop.is_set():
                return
            images = _call(job, window, steps, batch, on_message)
            if stop.is_set():
                return
            for step, image in zip(steps, images, strict=True):
                if job.coherence is not None:
                    image = job.coherence.match(step.frame, image, None, job)
                yield RenderedFrame(step.frame, image)


def call_groups(job: RenderJob, frames: Iterable[int] | None) -> list[list[int]]:
    """The frames of ``frames`` (default: all) that each pipeline call renders, in order. Ray
    hands them out whole."""
    batch = [job.spec.settings.batch_size]
    return [[step.frame for step in steps] for _, steps in _calls(job, frames, batch)]


def _calls(
    job: RenderJob, frames: Iterable[int] | None, batch: list[int]
) -> Iterator[tuple[Window | None, list[FrameStep]]]:
    """Each pipeline call with the steps it yields: a video family's windows that keep a frame
    asked for, else batches of ``batch[0]`` frames (read as each call is made) split where the
    strength or a LoRA scale changes."""
    steps = job.plan.steps_for(frames)
    if job.windows is not None:
        wanted = {step.frame: step for step in steps}
        for window in job.windows:
            kept = [wanted[frame] for frame in window.keep if frame in wanted]
            if kept:
                yield window, kept
        return
    start = 0
    while start < len(steps):
        part = same_call_prefix(steps[start : start + batch[0]], job.spec)
        yield None, part
        start += len(part)


def _call(
    job: RenderJob,
    window: Window | None,
    steps: list[FrameStep],
    batch: list[int],
    on_message: Callable[[str], None],
) -> list[Image.Image]:
    """The images of one call's kept frames; a batch that runs out of GPU memory is rendered
    again in halves (the frames are the same at any batch size)."""
    if window is not None:
        try:
            images = job.denoise_window(window)
        except torch.cuda.OutOfMemoryError as exc:
            raise SettingsError(
                "video_window",
                f"ran out of GPU memory denoising {len(window.frames)} frames in one call; use "
                "a smaller video_window, smaller frames (height, width) or cpu_offload",
            ) from exc
        return [images[step.frame - window.start] for step in steps]
    inits = [job.init_of(step.frame) for step in steps]
    try:
        return job.denoise(steps, None if inits[0] is None else inits)
    except torch.cuda.OutOfMemoryError as exc:
        batch[0] = _smaller_batch(len(steps), exc, on_message)
    images: list[Image.Image] = []
    while len(images) < len(steps):  # at the batch size of now, halved again if need be
        part = steps[len(images) : len(images) + batch[0]]
        images += _call(job, None, part, batch, on_message)
    return images


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

    def diffuse(frame: int, init: Image.Image | None, before: Image.Image | None):
        """One frame from ``init`` (a warped frame, given the frame's init treatment; None: its
        own init), colour-matched; None once stopped."""
        treatment = job.spec.init_treatment
        if init is not None and treatment is not None:
            init = treatment.apply(frame, init)
        init = job.init_of(frame) if init is None else init
        if stop.is_set():
            return None
        try:
            (image,) = job.denoise([job.plan.steps[frame]], None if init is None else [init])
        except torch.cuda.OutOfMemoryError as exc:
            _smaller_batch(1, exc, on_message)  # one frame that does not fit: an error
        if stop.is_set():
            return None
        if job.coherence is not None:
            image = job.coherence.match(frame, image, before, job)
        return image

    if wanted and job.spec.settings.diffusion_cadence > 1:
        for frame, image in cadenced_frames(job, wanted, previous, diffuse):
            yield RenderedFrame(frame, image)
        return
    padding = job.spec.settings.padding_mode
    for frame in wanted:
        init = None if previous is None else warp(previous, job.motion.step(frame), padding)
        image = diffuse(frame, init, previous)
        if image is None:
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
