"""The camera path without diffusion: every frame's 2D motion applied to one still picture (the
init image, or a test card), for a look at the motion before a long render. Frame k is the
picture moved by the motion of frames 1..k composed into one matrix, so it is resampled once
and stays sharp, where a render warps each frame from the one before."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from PIL import Image, ImageDraw

from giffusion_nb.media.motion import MotionSchedule
from giffusion_nb.media.motion_path import step_matrix, warp_by_matrix

PREVIEW_PX = 256  # the longer side of the frames played


def pattern_card(width: int, height: int) -> Image.Image:
    """A picture whose motion is easy to read: a grid, circles about the centre, a cross and
    colour bars along the top."""
    card = Image.new("RGB", (width, height), (38, 40, 48))
    draw = ImageDraw.Draw(card)
    for i in range(1, 8):
        x, y = width * i / 8, height * i / 8
        draw.line([(x, 0), (x, height)], fill=(110, 115, 130), width=1)
        draw.line([(0, y), (width, y)], fill=(110, 115, 130), width=1)
    cx, cy = width / 2, height / 2
    for radius in (0.12, 0.25, 0.38):
        r = radius * min(width, height)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(235, 235, 235), width=2)
    draw.line([(cx, cy - 8), (cx, cy + 8)], fill=(250, 80, 80), width=2)
    draw.line([(cx - 8, cy), (cx + 8, cy)], fill=(250, 80, 80), width=2)
    colours = [(230, 60, 60), (240, 200, 40), (60, 200, 90), (60, 170, 230), (150, 80, 220)]
    bar = width / len(colours)
    for i, colour in enumerate(colours):
        draw.rectangle([i * bar, 0, (i + 1) * bar, height / 16], fill=colour)
    return card


def camera_path(
    start: Image.Image,
    schedule: MotionSchedule,
    frame_width: int,
    padding_mode: str = "border",
    longest: int = PREVIEW_PX,
) -> Iterator[Image.Image]:
    """The frames of ``schedule`` on ``start``, at most ``longest`` pixels a side; the
    translations (pixels of frames ``frame_width`` wide) are scaled to the preview's size."""
    picture = start.convert("RGB")
    picture.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    width, height = picture.size
    scale = width / frame_width
    matrix = None
    for frame in range(len(schedule.zoom)):
        if frame == 0:
            yield picture.copy()
            continue
        step = schedule.step(frame)
        step = dataclasses.replace(
            step, translate_x=step.translate_x * scale, translate_y=step.translate_y * scale
        )
        moved = step_matrix(step, width, height)
        matrix = moved if matrix is None else moved @ matrix
        yield warp_by_matrix(picture, matrix, padding_mode)
