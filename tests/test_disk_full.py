"""A disk that fills while frames and the GIF or MP4 are written: a named error, every frame
PNG on disk complete, no partial output under its name, and a resume once there is room
that writes the output of an uninterrupted run."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import gif_frames, mp4_frames
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import GifEncoder
from giffusion_nb.output.frame_files import PNG_COMPRESSION
from giffusion_nb.output.writers import BackgroundWriter, existing_frames, frame_path

FRAMES = 16
PAGE = 4096


def noisy_frames(count: int = FRAMES, size: int = 64) -> list[Image.Image]:
    """Frames with detail everywhere (large PNGs and GIF frames), each a little different."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (size, size, 3))
    return [
        Image.fromarray(((base + 9 * k + rng.integers(0, 24, base.shape)) % 256).astype(np.uint8))
        for k in range(count)
    ]


def png_bytes(image: Image.Image) -> int:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return len(buffer.getvalue())


def write(run_dir: Path, frames: dict[int, Image.Image], fmt: str, **options) -> Path | None:
    """Hand ``frames`` to a writer and close it; the writer's error propagates."""
    writer = BackgroundWriter(run_dir, FRAMES, run_dir / f"run.{fmt}", fmt, 10, **options)
    try:
        for index, image in frames.items():
            writer.submit(index, image)
        return writer.close()
    finally:
        writer.abort()  # after an error: save what came, write nothing (a no-op after close)


def check_left_behind(run_dir: Path, fmt: str) -> set[int]:
    """What a failed run leaves: complete PNGs only, no output, no temporary file."""
    assert not (run_dir / f"run.{fmt}").exists()
    assert not [path for path in run_dir.rglob("*") if path.suffix == ".tmp"]
    saved = existing_frames(run_dir)
    for index in saved:
        with Image.open(frame_path(run_dir, index)) as image:
            image.load()  # complete: a truncated PNG fails here
    return saved


def decoded(path: Path, fmt: str) -> list[np.ndarray]:
    if fmt == "gif":
        return [np.asarray(frame) for frame in gif_frames(path)]
    return mp4_frames(path)[1]


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a tmpfs of its own (where this process may mount one), else None."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        yield None
        return
    command = [mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)]
    if subprocess.run(command, capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run([shutil.which("umount") or "umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_a_disk_that_fills_names_the_error_and_a_resume_finishes(tmp_path, small_disk, fmt):
    if small_disk is None:
        pytest.skip("no tmpfs can be mounted here (test_an_injected_full_disk covers the rest)")
    frames = noisy_frames()
    whole = tmp_path / "whole"
    reference = write(whole, dict(enumerate(frames)), fmt, background=False)
    # room for every PNG and a third of the output (tmpfs counts whole pages)
    pngs = sum(-(-png_bytes(image) // PAGE) * PAGE for image in frames)
    room = pngs + reference.stat().st_size // 3
    filler = small_disk / "filler"
    with open(filler, "wb") as file:
        file.write(b"\0" * (shutil.disk_usage(small_disk).free - room))
    run_dir = small_disk / "run"
    with pytest.raises(SettingsError) as caught:
        write(run_dir, dict(enumerate(frames)), fmt)
    assert caught.value.field == "output_dir"
    assert "disk is full" in str(caught.value) and str(run_dir) in str(caught.value)
    saved = check_left_behind(run_dir, fmt)
    filler.unlink()  # room again: resume with the frames that are missing
    missing = {index: frames[index] for index in range(FRAMES) if index not in saved}
    output = write(run_dir, missing, fmt)
    for a, b in zip(decoded(output, fmt), decoded(reference, fmt), strict=True):
        assert np.array_equal(a, b)
    if fmt == "gif":
        assert output.read_bytes() == reference.read_bytes()


def test_an_injected_full_disk_while_the_gif_is_written(tmp_path, monkeypatch):
    frames = noisy_frames()
    reference = write(tmp_path / "whole", dict(enumerate(frames)), "gif", background=False)
    write_block = GifEncoder._write
    calls = []

    def fills_up(self, block, shape):
        calls.append(1)
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self._temp))
        write_block(self, block, shape)

    monkeypatch.setattr(GifEncoder, "_write", fills_up)
    run_dir = tmp_path / "run"
    with pytest.raises(SettingsError, match="disk is full") as caught:
        write(run_dir, dict(enumerate(frames)), "gif", background=False)
    assert caught.value.field == "output_dir"
    assert check_left_behind(run_dir, "gif") == set(range(6))  # stopped after the 6th frame
    monkeypatch.setattr(GifEncoder, "_write", write_block)
    missing = {index: frames[index] for index in range(6, FRAMES)}
    assert write(run_dir, missing, "gif").read_bytes() == reference.read_bytes()


def test_an_injected_full_disk_while_a_frame_is_saved(tmp_path, monkeypatch):
    from giffusion_nb.output import frame_writer

    frames = noisy_frames()
    save = frame_writer.save_png_atomic

    def fills_up(image, path, field="output_dir"):
        if path.name == "0004.png":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        save(image, path, field)

    monkeypatch.setattr(frame_writer, "save_png_atomic", fills_up)
    run_dir = tmp_path / "run"
    with pytest.raises(SettingsError, match="disk is full"):
        write(run_dir, dict(enumerate(frames)), "gif", background=False)
    assert check_left_behind(run_dir, "gif") == set(range(4))
