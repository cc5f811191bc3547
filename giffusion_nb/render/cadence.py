"""Diffusion cadence for 2D motion: every Nth frame (and the last) is diffused, from the
diffused frame before it warped along the motion of the frames between; each frame between two
diffused ones is both of them warped to it (along the motion, or by the optical flow between
them) and blended by its distance to each, as Deforum's cadence does. Deforum warps both
neighbours forward, so its diffused pictures show a few frames late; here the later one is
warped back by the inverse motion, so each diffused frame shows at its own index.

A frame depends only on the settings and its index: the diffused frames form the chain, and a
resume starts from the last diffused frame before its first missing frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from PIL import Image

from giffusion_nb.media.flow import flow_in_between
from giffusion_nb.media.motion_path import path_matrix, warp_by_matrix

# Diffuse frame ``frame`` from ``init`` (None: from noise or the image input), the diffused
# frame before being ``previous``; returns the picture, or None when the render was stopped.
Diffuse = Callable[[int, Image.Image | None, Image.Image | None], Image.Image | None]


def diffused_frames(num_frames: int, cadence: int) -> list[int]:
    """The frames a cadence diffuses: 0, N, 2N, … and the last."""
    return sorted({*range(0, num_frames, cadence), num_frames - 1})


def continues_from(spec: Any, first: int) -> int:
    """The saved frame a 2D-motion render that starts at ``first`` (> 0) goes on from: the
    frame before, or with a cadence the last diffused frame before ``first``."""
    cadence = spec.settings.diffusion_cadence
    if cadence <= 1:
        return first - 1
    return max(frame for frame in diffused_frames(spec.num_frames, cadence) if frame < first)


def cadenced_frames(
    job: Any, wanted: list[int], previous: Image.Image | None, diffuse: Diffuse
) -> Iterator[tuple[int, Image.Image]]:
    """The frames ``wanted`` (consecutive) in order; ``previous`` is the diffused frame that
    ``continues_from`` names when they do not start at 0."""
    spec = job.spec
    keys = diffused_frames(spec.num_frames, spec.settings.diffusion_cadence)
    last = None if wanted[0] == 0 else (continues_from(spec, wanted[0]), previous)
    for key in (frame for frame in keys if frame >= wanted[0]):
        if last is None:
            image = diffuse(key, None, None)
        else:
            start, picture = last
            init = warp_by_matrix(picture, _path(job, start, key, picture), _padding(job))
            image = diffuse(key, init, picture)
        if image is None:
            return
        if last is not None:
            for frame in range(max(last[0] + 1, wanted[0]), min(key, wanted[-1] + 1)):
                yield frame, in_between(job, last, (key, image), frame)
        if key <= wanted[-1]:
            yield key, image
        if key >= wanted[-1]:
            return
        last = (key, image)


def in_between(
    job: Any,
    start: tuple[int, Image.Image],
    end: tuple[int, Image.Image],
    frame: int,
) -> Image.Image:
    """Frame ``frame`` between the diffused frames ``start`` and ``end`` (index, picture)."""
    (first, before), (last, after) = start, end
    t = (frame - first) / (last - first)
    s = job.spec.settings
    if s.cadence_warp == "flow":
        return flow_in_between(before, after, t, s.optical_flow)
    padding = _padding(job)
    forward = warp_by_matrix(before, _path(job, first, frame, before), padding)
    back = np.linalg.inv(_path(job, frame, last, after))
    backward = warp_by_matrix(after, back, padding)
    blended = (1 - t) * np.asarray(forward, np.float32) + t * np.asarray(backward, np.float32)
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8), mode="RGB")


def _path(job: Any, start: int, end: int, picture: Image.Image) -> np.ndarray:
    """The motion from frame ``start`` to frame ``end`` (the moves of frames start+1..end)."""
    steps = (job.motion.step(frame) for frame in range(start + 1, end + 1))
    return path_matrix(steps, *picture.size)


def _padding(job: Any) -> str:
    return job.spec.settings.padding_mode
