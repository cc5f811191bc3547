"""Read a rendered GIF or MP4 back: its frame count, frame rate and single frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageSequence

from giffusion_nb.output.formats import format_of_file


def _is_gif(path: Path) -> bool:
    return format_of_file(path).name == "gif"


def count_frames(path: Path) -> tuple[int, float]:
    """Number of frames and frame rate of a GIF or MP4 (an MP4 is decoded once to count)."""
    if _is_gif(path):
        with Image.open(path) as gif:
            # browsers play a 0 delay as 100 ms; delays may alternate (8, 9 cs at 12 fps)
            durations = [frame.info.get("duration") or 100 for frame in ImageSequence.Iterator(gif)]
            return len(durations), 1000 * len(durations) / sum(durations)
    frames, _seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        fps = next(reader)["fps"]
    finally:
        reader.close()
    return frames, float(fps)


def read_frame(path: Path, index: int) -> Image.Image:
    """Frame ``index`` of a GIF or MP4 as an RGB image."""
    if index < 0:
        raise IndexError(f"frame index {index} is negative")
    if _is_gif(path):
        with Image.open(path) as gif:
            if index >= gif.n_frames:
                raise IndexError(f"{path} has {gif.n_frames} frames, no frame {index}")
            gif.seek(index)
            return gif.convert("RGB")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        width, height = next(reader)["size"]
        frames = 0
        for data in reader:
            if frames == index:
                return Image.fromarray(np.frombuffer(data, np.uint8).reshape(height, width, 3))
            frames += 1
    finally:
        reader.close()
    raise IndexError(f"{path} has {frames} frames, no frame {index}")


def iter_frames(path: Path) -> Iterator[Image.Image]:
    """Every frame of a GIF or MP4 in order, as RGB images, decoded as a stream."""
    if _is_gif(path):
        with Image.open(path) as gif:
            for frame in ImageSequence.Iterator(gif):
                yield frame.convert("RGB")
        return
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        width, height = next(reader)["size"]
        for data in reader:
            yield Image.fromarray(np.frombuffer(data, np.uint8).reshape(height, width, 3))
    finally:
        reader.close()
