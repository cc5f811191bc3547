"""Tests for giffusion_nb.output.writers: frame PNGs and the background writer."""

from __future__ import annotations

import functools
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from helpers import COLORS, gif_colors, gif_frames, gradient, mp4_frames, pixels, solid
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import GifEncoder
from giffusion_nb.output.writers import (
    WRITER_NICENESS,
    BackgroundWriter,
    existing_frames,
    frame_path,
    save_png_atomic,
)

SIZE = (32, 32)
solid = functools.partial(solid, size=SIZE)


def finishes_within(seconds: float, action):
    """Run ``action`` on a thread; fail instead of hanging, re-raise what it raised."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = action()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the writer hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def no_temp_files(folder: Path) -> bool:
    return not [path for path in folder.rglob("*") if path.suffix == ".tmp"]


# --- frame files


def test_frame_path_pads_to_four_digits_and_grows(tmp_path):
    assert frame_path(tmp_path, 7) == tmp_path / "frames" / "0007.png"
    assert frame_path(tmp_path, 12345).name == "12345.png"


def test_save_png_atomic_writes_the_frame_and_no_temp_files(tmp_path):
    path = tmp_path / "0000.png"
    save_png_atomic(gradient(0), path)
    save_png_atomic(solid(COLORS[0]), path)  # replacing an existing frame
    assert (pixels(Image.open(path)) == pixels(solid(COLORS[0]))).all()
    assert [p.name for p in tmp_path.iterdir()] == ["0000.png"]


def test_save_png_atomic_failure_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        save_png_atomic(Image.new("CMYK", SIZE), tmp_path / "0000.png")  # PNG has no CMYK
    assert list(tmp_path.iterdir()) == []


def test_existing_frames_ignores_temp_files_and_other_names(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ["0000.png", "0002.png", "10000.png", ".0001.png.x1y2.tmp", "0003.png.tmp"]:
        (frames / name).write_bytes(b"x")
    for name in ["12.png", "00005.png", "last.png", "0004.jpg"]:
        (frames / name).write_bytes(b"x")
    assert existing_frames(tmp_path) == {0, 2, 10000}
    assert existing_frames(tmp_path / "missing") == set()


@pytest.mark.parametrize(
    ("fmt", "fps", "audio", "field"),
    [
        ("avi", 10, None, "output_format"),
        ("gif", 0, None, "fps"),
        ("mp4", 10, "nope.wav", "audio_path"),
    ],
)
def test_writer_rejects_bad_output_settings(tmp_path, fmt, fps, audio, field):
    audio_path = None if audio is None else tmp_path / audio
    with pytest.raises(SettingsError) as caught:
        BackgroundWriter(tmp_path, 3, tmp_path / "out", fmt, fps, audio_path)
    assert caught.value.field == field


# --- background writer


def test_writer_orders_frames_submitted_out_of_order(tmp_path):
    output = tmp_path / "out.gif"
    with BackgroundWriter(tmp_path, 6, output, "gif", 10, max_pending=2) as writer:
        for index in [2, 0, 3, 1, 5, 4]:
            writer.submit(index, solid(COLORS[index]))
    assert writer.close() == output
    assert writer.frames_written == 6
    assert existing_frames(tmp_path) == set(range(6))
    assert gif_colors(output) == COLORS[:6]
    assert no_temp_files(tmp_path)


def test_writer_reads_back_frames_it_could_not_keep(tmp_path):
    writer = BackgroundWriter(tmp_path, 6, tmp_path / "out.mp4", "mp4", 10, max_pending=1)
    for index in reversed(range(6)):  # only one frame may wait in memory
        writer.submit(index, solid(COLORS[index]))
    _meta, frames = mp4_frames(writer.close())
    assert len(frames) == 6
    for color, frame in zip(COLORS, frames, strict=False):
        assert np.abs(frame - np.array(color)).max() <= 10


def test_writer_resumes_with_frames_already_on_disk(tmp_path):
    (tmp_path / "frames").mkdir()
    for index in range(3):
        save_png_atomic(solid(COLORS[index]), frame_path(tmp_path, index))
    writer = BackgroundWriter(tmp_path, 6, tmp_path / "out.gif", "gif", 10)
    for index in range(3, 6):
        writer.submit(index, solid(COLORS[index]))
    output = writer.close()
    assert writer.frames_written == 3
    assert gif_colors(output) == COLORS[:6]


def test_writer_with_everything_on_disk_still_encodes(tmp_path):
    (tmp_path / "frames").mkdir()
    for index in range(4):
        save_png_atomic(solid(COLORS[index]), frame_path(tmp_path, index))
    output = BackgroundWriter(tmp_path, 4, tmp_path / "out.gif", "gif", 10).close()
    assert gif_colors(output) == COLORS[:4]


def test_writer_partial_render_encodes_the_frames_before_the_first_gap(tmp_path):
    writer = BackgroundWriter(tmp_path, 6, tmp_path / "out.gif", "gif", 10)
    for index in [0, 1, 2, 4]:
        writer.submit(index, solid(COLORS[index]))
    output = writer.close()
    assert gif_colors(output) == COLORS[:3]
    assert existing_frames(tmp_path) == {0, 1, 2, 4}


def test_writer_without_frame_zero_writes_no_output(tmp_path):
    writer = BackgroundWriter(tmp_path, 3, tmp_path / "out.mp4", "mp4", 10)
    writer.submit(1, solid(COLORS[1]))
    assert writer.close() is None
    assert existing_frames(tmp_path) == {1}
    assert not (tmp_path / "out.mp4").exists()
    assert no_temp_files(tmp_path)


def test_writer_without_output_path_only_saves_pngs(tmp_path):
    writer = BackgroundWriter(tmp_path, 2, None, "gif", 10)
    writer.submit(0, solid(COLORS[0]))
    writer.submit(1, solid(COLORS[1]))
    assert writer.close() is None
    assert existing_frames(tmp_path) == {0, 1}


def test_writer_error_is_raised_and_nothing_hangs(tmp_path, monkeypatch):
    def broken_append(self, pixels, frame):
        raise OSError("disk full")

    monkeypatch.setattr(GifEncoder, "append_quantized", broken_append)
    writer = BackgroundWriter(
        tmp_path, 20, tmp_path / "out.gif", "gif", 10, max_pending=1, background=False
    )

    def render():
        for index in range(20):
            writer.submit(index, solid(COLORS[index % 7]))
        writer.close()

    with pytest.raises(OSError, match="disk full"):
        finishes_within(20, render)
    with pytest.raises(OSError, match="disk full"):
        finishes_within(20, writer.close)
    assert isinstance(writer.error, OSError)
    assert 0 in existing_frames(tmp_path)  # the frames themselves were kept
    assert not (tmp_path / "out.gif").exists()
    assert no_temp_files(tmp_path)


def test_writer_error_when_frames_cannot_be_saved(tmp_path):
    writer = BackgroundWriter(tmp_path, 3, tmp_path / "out.gif", "gif", 10)
    (tmp_path / "frames").rmdir()
    (tmp_path / "frames").write_bytes(b"not a folder")
    writer.submit(0, solid(COLORS[0]))
    with pytest.raises(SettingsError) as caught:  # no folder: the frames cannot be saved
        finishes_within(20, writer.close)
    assert caught.value.field == "output_dir" and "not a folder" in str(caught.value)
    assert writer.error is not None
    with pytest.raises(RuntimeError):
        writer.submit(1, solid(COLORS[1]))


def test_writer_context_keeps_partial_output_when_the_render_fails(tmp_path):
    output = tmp_path / "out.gif"
    with pytest.raises(KeyError), BackgroundWriter(tmp_path, 5, output, "gif", 10) as writer:
        writer.submit(0, solid(COLORS[0]))
        writer.submit(1, solid(COLORS[1]))
        raise KeyError("render failed")
    assert gif_colors(output) == COLORS[:2]


def test_writer_context_raises_the_render_error_when_both_fail(tmp_path, monkeypatch):
    def broken_close(self):
        raise OSError("disk full")

    monkeypatch.setattr(GifEncoder, "close", broken_close)
    with (
        pytest.raises(KeyError, match="render failed"),
        BackgroundWriter(tmp_path, 5, tmp_path / "out.gif", "gif", 10, background=False) as writer,
    ):
        writer.submit(0, solid(COLORS[0]))
        raise KeyError("render failed")
    assert isinstance(writer.error, OSError)


def test_writer_abort_keeps_pngs_but_writes_no_output(tmp_path):
    writer = BackgroundWriter(tmp_path, 3, tmp_path / "out.mp4", "mp4", 10)
    writer.submit(0, solid(COLORS[0]))
    writer.submit(1, solid(COLORS[1]))
    writer.abort()
    assert existing_frames(tmp_path) == {0, 1}
    assert not (tmp_path / "out.mp4").exists()
    assert no_temp_files(tmp_path)


def test_writer_rejects_indices_outside_the_render(tmp_path):
    writer = BackgroundWriter(tmp_path, 3, None, "gif", 10)
    with pytest.raises(IndexError):
        writer.submit(3, solid(COLORS[0]))
    writer.close()


def test_written_files_get_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "frame.png"
    save_png_atomic(Image.new("RGB", (8, 8)), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_the_writer_process_yields_the_cpu_to_the_model(tmp_path):
    writer = BackgroundWriter(tmp_path, 1, tmp_path / "out.gif", "gif", 10)
    writer.submit(0, solid(COLORS[0]))
    deadline = time.monotonic() + 30
    while not frame_path(tmp_path, 0).exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the process lowers its priority before its first frame
    niceness = os.getpriority(os.PRIO_PROCESS, writer.pid)
    writer.close()
    assert writer.pid != os.getpid()
    assert niceness == os.getpriority(os.PRIO_PROCESS, 0) + WRITER_NICENESS


@pytest.mark.parametrize("background", [True, False])
def test_inline_and_background_writers_write_the_same(tmp_path, background):
    writer = BackgroundWriter(tmp_path, 4, tmp_path / "out.gif", "gif", 10, background=background)
    for index in (1, 0, 3, 2):
        writer.submit(index, solid(COLORS[index]))
    output = writer.close()
    assert gif_colors(output) == COLORS[:4]
    assert existing_frames(tmp_path) == {0, 1, 2, 3}


def test_ctrl_c_during_an_inline_write_waits_for_the_frame(tmp_path, monkeypatch):
    writer = BackgroundWriter(tmp_path, 3, tmp_path / "out.gif", "gif", 10, background=False)
    writer.submit(0, solid(COLORS[0]))
    original = GifEncoder.append_quantized

    def interrupted(self, pixels, frame):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the frame's write
        time.sleep(0.05)
        original(self, pixels, frame)

    monkeypatch.setattr(GifEncoder, "append_quantized", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.submit(1, solid(COLORS[1]))
    monkeypatch.setattr(GifEncoder, "append_quantized", original)
    assert writer.error is None
    output = writer.close()  # the frame was written whole; the output has both
    assert gif_colors(output) == COLORS[:2]


# --- writer processes


def drifting(count: int, size: int = 48) -> list[Image.Image]:
    """Frames with many colours that move: each needs k-means and delta frames."""
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (size, size * 2, 3)).astype(np.uint8)
    return [Image.fromarray(base[:, index : index + size]) for index in range(count)]


@pytest.mark.parametrize("workers", [1, 3])
def test_writer_processes_write_what_the_inline_writer_writes(tmp_path, workers):
    frames = drifting(12)
    order = [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 10, 9]  # out of order, as batches and Ray bring them
    inline = BackgroundWriter(tmp_path / "a", 12, tmp_path / "a.gif", "gif", 10, background=False)
    for index in order:
        inline.submit(index, frames[index])
    pooled = BackgroundWriter(
        tmp_path / "b", 12, tmp_path / "b.gif", "gif", 10, max_pending=2, workers=workers
    )
    for index in order:
        pooled.submit(index, frames[index])
    assert pooled.close().read_bytes() == inline.close().read_bytes()
    assert pooled.frames_written == 12 and existing_frames(tmp_path / "b") == set(range(12))
    decoded = gif_frames(tmp_path / "b.gif")
    assert len(decoded) == 12
    for frame, source in zip(decoded, frames, strict=True):  # each in its place
        assert np.abs(pixels(frame) - pixels(source)).mean() < 12
    assert no_temp_files(tmp_path)


def test_writer_processes_report_errors_and_keep_the_frames(tmp_path):
    writer = BackgroundWriter(tmp_path, 4, tmp_path / "out.gif", "gif", 10, workers=2)
    writer.submit(0, solid(COLORS[0]))
    writer.submit(1, Image.new("RGB", (16, 16)))  # another size: the GIF cannot take it
    with pytest.raises(ValueError, match="differs from the first frame"):
        finishes_within(60, writer.close)
    assert existing_frames(tmp_path) == {0, 1}
    assert not (tmp_path / "out.gif").exists() and no_temp_files(tmp_path)


def test_a_dropped_writer_process_saves_its_frames_and_writes_no_output(tmp_path):
    writer = BackgroundWriter(tmp_path, 3, tmp_path / "out.gif", "gif", 10)
    writer.submit(0, solid(COLORS[0]))
    process = writer._process._process
    del writer  # never closed: the process sees its input end
    assert process.wait(60) == 0
    assert existing_frames(tmp_path) == {0}
    assert not (tmp_path / "out.gif").exists() and no_temp_files(tmp_path)


def test_gif_memory_does_not_grow_with_the_frames(tmp_path):
    frames = drifting(40, 64)

    def peak(count: int) -> int:
        encoder = GifEncoder(tmp_path / f"{count}.gif", 10)
        tracemalloc.start()
        for frame in frames[:count]:
            encoder.append(frame)
        encoder.close()
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return traced

    few, many = peak(10), peak(40)
    assert many < 1.2 * few  # four times the frames, the same memory


def test_a_script_without_a_main_guard_may_use_the_writer_process(tmp_path):
    # multiprocessing's spawn and fork server would run this script again in the writer
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from PIL import Image\n"
        "from giffusion_nb.output.writers import BackgroundWriter\n"
        "run = Path(sys.argv[1])\n"
        "writer = BackgroundWriter(run, 2, run / 'out.gif', 'gif', 10, workers=2)\n"
        "for index in range(2):\n"
        "    writer.submit(index, Image.new('RGB', (8, 8), (200 * index, 0, 0)))\n"
        "print('output', writer.close())\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("output") == 1
    assert gif_colors(tmp_path / "run" / "out.gif") == [(0, 0, 0), (200, 0, 0)]
