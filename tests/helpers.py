"""Helpers shared by tests: spies on pipeline calls and media files the tests write."""

from __future__ import annotations

import functools
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile
from PIL import Image, ImageSequence

COLORS = [
    (230, 30, 30),
    (30, 200, 40),
    (40, 60, 220),
    (240, 220, 40),
    (40, 210, 220),
    (200, 40, 200),
    (128, 128, 128),
]


def spy_calls(monkeypatch, pipe) -> list[dict]:
    """Record the keyword arguments of every call of ``pipe``'s class (signature kept)."""
    calls: list[dict] = []
    original = type(pipe).__call__

    @functools.wraps(original)
    def spy(self, **kwargs):
        calls.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    return calls


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def assert_resumes_alike(make_session, run_dir: Path, count: int, first: int) -> list[np.ndarray]:
    """Delete the run's frames from ``first`` on, resume it in a new session, and assert each of
    its ``count`` frames is, bit for bit, as saved before; returns those frames."""
    path = Path(run_dir) / "frames"
    reference = [pixels(Image.open(path / f"{index:04d}.png")) for index in range(count)]
    for index in range(first, count):
        (path / f"{index:04d}.png").unlink()
    make_session().render(resume=run_dir)
    for index, expected in enumerate(reference):
        assert np.array_equal(pixels(Image.open(path / f"{index:04d}.png")), expected), index
    return reference


def solid(color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)


def gradient(shift: int, size: int = 64) -> Image.Image:
    """A smooth colour gradient with far more than 256 colours."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    rgb = np.dstack([x, y, (x + y + shift / 10) % 1.0]) * 255
    return Image.fromarray(rgb.round().astype(np.uint8))


def gif_frames(path: Path) -> list[Image.Image]:
    with Image.open(path) as gif:
        return [frame.convert("RGB") for frame in ImageSequence.Iterator(gif)]


def gif_colors(path: Path) -> list[tuple[int, int, int]]:
    return [frame.getpixel((0, 0)) for frame in gif_frames(path)]


def mp4_frames(path: Path) -> tuple[dict, list[np.ndarray]]:
    """The metadata and every frame of an MP4, decoded by ffmpeg."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [
        np.frombuffer(data, np.uint8).reshape(height, width, 3).astype(int) for data in reader
    ]
    return meta, frames


def colour_of(index: int) -> tuple[int, int, int]:
    """A distinct colour per frame index, easy to tell apart after compression."""
    return (40 * (index % 6) + 20, 200 - 30 * (index % 7), 60 + 25 * (index % 5))


def write_video(path: Path, num_frames: int, size: tuple[int, int] = (64, 64), fps: float = 8):
    """An MP4 whose frame i is a solid ``colour_of(i)``."""
    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=1,
        quality=9,
    )  # fmt: skip
    writer.send(None)
    for index in range(num_frames):
        writer.send(np.asarray(solid(colour_of(index), size)).tobytes())
    writer.close()
    return path


def write_clicks(path: Path, times: list[float], duration: float, rate: int = 22050) -> Path:
    """A WAV of silence with a short decaying noise click at each time."""
    rng = np.random.default_rng(0)
    samples = np.zeros(int(duration * rate), dtype=np.float32)
    click = np.arange(int(0.01 * rate))
    for time in times:
        start = round(time * rate)
        burst = rng.uniform(-1, 1, click.size) * np.exp(-click / (0.003 * rate))
        samples[start : start + click.size] += 0.8 * burst
    soundfile.write(path, samples, rate)
    return path
