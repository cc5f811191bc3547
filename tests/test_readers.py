"""Tests for giffusion_nb.output.readers: reading a rendered GIF or MP4 back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from giffusion_nb.output.encoders import open_output
from giffusion_nb.output.readers import count_frames, read_frame

COLORS = [(230, 30, 30), (30, 200, 40), (40, 60, 220), (240, 220, 40), (40, 210, 220)]
SIZE = (32, 32)


def solid(color: tuple[int, int, int], size: tuple[int, int] = SIZE) -> Image.Image:
    return Image.new("RGB", size, color)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


def encode(path: Path, fmt: str, fps: float, images: list[Image.Image], audio=None) -> Path:
    encoder = open_output(path, fmt, fps, audio)
    for image in images:
        encoder.append(image)
    return encoder.close()


@pytest.mark.parametrize(("fmt", "tolerance"), [("gif", 0), ("mp4", 10)])
def test_read_frame_and_count_frames(tmp_path, fmt, tolerance):
    path = encode(tmp_path / f"out.{fmt}", fmt, 12.5, [solid(color) for color in COLORS])
    assert count_frames(path) == (5, 12.5)
    frame = read_frame(path, 3)
    assert frame.mode == "RGB" and frame.size == SIZE
    assert np.abs(pixels(frame) - np.array(COLORS[3])).max() <= tolerance
    with pytest.raises(IndexError):
        read_frame(path, 5)
    with pytest.raises(IndexError):
        read_frame(path, -1)
