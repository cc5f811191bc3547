"""Diffusion cadence without 2D motion: every Nth frame (and the last) is diffused, in batches
like any other frame; each frame between two diffused ones is their optical-flow in-between at
its distance from each (``media.flow``), as a motion render's cadence with ``cadence_warp``
flow makes them.

A frame depends only on the settings and its index: a diffused frame is the same in any batch,
and a resume reads the diffused frames it needs from the run folder when they are there."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from PIL import Image

from giffusion_nb.media.flow import flow_in_betweens
from giffusion_nb.render.cadence import diffused_frames
from giffusion_nb.render.renderer import RenderedFrame
from giffusion_nb.render.spec import RenderSpec

# Diffuse the frames asked for (in order), yielding each with its picture as its call ends.
DiffuseFrames = Callable[[list[int]], Iterable[tuple[int, Image.Image]]]
# A frame saved in the run folder (None: not there).
Saved = Callable[[int], Image.Image | None]


def cadenced_calls(
    calls: Any,
    spec: RenderSpec,
    todo: list[int] | None,
    previous: Image.Image | None = None,
    saved: Saved | None = None,
) -> Iterator[RenderedFrame]:
    """``calls.frames`` for ``todo`` (None: every frame); with a cadence and no 2D motion,
    the calls render only the diffused frames (locally or on Ray workers alike) and the rest
    are in-betweens."""
    cadence = spec.settings.diffusion_cadence
    if cadence <= 1 or spec.motion is not None:
        yield from calls.frames(spec, todo, previous, saved)
        return

    def diffuse(keys: list[int]) -> Iterator[tuple[int, Image.Image]]:
        if keys:
            for frame in calls.frames(spec, keys, None, saved):
                yield frame.index, frame.image

    wanted = list(range(spec.num_frames)) if todo is None else sorted(set(todo))
    flow = spec.settings.optical_flow
    for index, image in flow_cadenced_frames(
        spec.num_frames, cadence, wanted, diffuse, saved, flow
    ):
        yield RenderedFrame(index, image)


def bracketing_keys(frame: int, keys: list[int]) -> tuple[int, int]:
    """The diffused frames at or before and at or after ``frame`` (the same for a key);
    ``keys`` is sorted, from 0 to the last frame."""
    index = bisect.bisect_right(keys, frame) - 1
    before = keys[index]
    return before, before if before == frame else keys[index + 1]


def flow_cadenced_frames(
    num_frames: int,
    cadence: int,
    wanted: list[int],
    diffuse: DiffuseFrames,
    saved: Saved | None,
    flow: str,
) -> Iterator[tuple[int, Image.Image]]:
    """The frames ``wanted`` (sorted) in order: diffused frames as ``diffuse`` makes them (or
    read by ``saved`` when only a frame between needs them), the frames between as flow
    in-betweens. Stops early when ``diffuse`` does (a stopped render)."""
    keys = diffused_frames(num_frames, cadence)
    needed = sorted({key for frame in wanted for key in bracketing_keys(frame, keys)})
    asked = set(wanted)
    pictures: dict[int, Image.Image] = {}
    to_diffuse = []
    for key in needed:
        picture = None if key in asked or saved is None else saved(key)
        if picture is None:
            to_diffuse.append(key)
        else:
            pictures[key] = picture.convert("RGB")
    pending = list(wanted)
    yield from _ready_frames(pending, pictures, keys, flow)
    for key, image in diffuse(to_diffuse):
        pictures[key] = image
        yield from _ready_frames(pending, pictures, keys, flow)


def _ready_frames(
    pending: list[int], pictures: dict[int, Image.Image], keys: list[int], flow: str
) -> Iterator[tuple[int, Image.Image]]:
    """Yield (and take off ``pending``) the next frames whose diffused neighbours are both in
    ``pictures``; drop the pictures no pending frame needs."""
    while pending:
        before, after = bracketing_keys(pending[0], keys)
        if before not in pictures or after not in pictures:
            break
        gap = pending[: bisect.bisect_right(pending, after)]
        yield from _gap_frames(gap, (before, pictures[before]), (after, pictures[after]), flow)
        del pending[: len(gap)]
    first_needed = bracketing_keys(pending[0], keys)[0] if pending else None
    for key in [key for key in pictures if first_needed is None or key < first_needed]:
        del pictures[key]


def _gap_frames(
    frames: list[int],
    start: tuple[int, Image.Image],
    end: tuple[int, Image.Image],
    flow: str,
) -> Iterator[tuple[int, Image.Image]]:
    """``frames`` of one gap between diffused frames (the keys themselves included when
    asked for), the frames between from one flow each way."""
    (first, before), (last, after) = start, end
    between = [frame for frame in frames if first < frame < last]
    pictures = {}
    if between:
        ts = [(frame - first) / (last - first) for frame in between]
        a, b = np.asarray(before), np.asarray(after)
        made = flow_in_betweens(a, b, ts, flow)
        pictures = dict(zip(between, (Image.fromarray(p, mode="RGB") for p in made), strict=True))
    for frame in frames:
        yield frame, before if frame == first else after if frame == last else pictures[frame]
