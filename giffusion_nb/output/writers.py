"""Save rendered frames as atomic PNGs and encode them into a GIF or MP4, in a writer process
(``background``) or in the render's own thread."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from giffusion_nb.output.encoders import check_output_settings
from giffusion_nb.output.frame_files import (
    PNG_COMPRESSION,
    existing_frames,
    frame_path,
    save_png_atomic,
)
from giffusion_nb.output.frame_writer import FrameWriter
from giffusion_nb.output.in_betweens import output_fps
from giffusion_nb.output.interrupts import interrupts_deferred
from giffusion_nb.output.safe_paths import check_real_folder
from giffusion_nb.output.writer_process import WRITER_NICENESS, WriterProcess

__all__ = [
    "PNG_COMPRESSION",
    "WRITER_NICENESS",
    "BackgroundWriter",
    "default_workers",
    "existing_frames",
    "frame_path",
    "save_png_atomic",
    "writes_in_line",
]

_logger = logging.getLogger(__name__)
# Helper processes at most, however many cores there are: at 512 px four of them keep up
# with well over 40 frames/s, and each holds a few frames in memory.
MAX_WORKERS = 8


def writes_in_line(device_type: str) -> bool:
    """Whether a render on ``device_type`` writes its frames in its own thread: on the CPU the
    model uses every core, and a writer process beside it only slows both down."""
    return device_type == "cpu"


def default_workers() -> int:
    """The writer's processes: one for each core this process may use beyond the one the
    render's own thread needs (at least 1, at most ``MAX_WORKERS``)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, (cores or 1) - 1))


class BackgroundWriter:
    """Saves frames as PNGs and encodes the output (``FrameWriter``'s work).

    With ``background`` (the default) the work runs in a writer process of its own, with
    ``workers`` processes in all (default ``default_workers()``): with more than one, helper
    processes save and quantize frames in parallel while the writer process orders them and
    writes the output. ``submit()`` only hands a frame over, waiting only while
    ``max_pending`` frames are still to be saved. ``background=False`` does the work in
    ``submit()`` itself, with a Ctrl-C held back until the frame is written.

    ``in_betweens`` optical-flow frames (``flow``: dis or farneback) go between each two
    frames of the output, at ``in_betweens + 1`` times the fps; the PNGs are the frames as
    rendered. Frames may arrive out of order or with gaps; ``close()`` encodes the frames 0..k
    that exist without a gap, so a stopped render still gives a playable output. An error of the
    writer is re-raised by the next ``submit()`` or ``close()``; frames are still saved as
    PNGs after it, but nothing more is encoded.
    """

    def __init__(
        self,
        run_dir: Path,
        num_frames: int,
        output_path: Path | None,
        output_format: str,
        fps: float,
        audio_path: Path | None = None,
        max_pending: int = 16,
        background: bool = True,
        workers: int | None = None,
        in_betweens: int = 0,
        flow: str = "dis",
    ) -> None:
        if num_frames < 1 or max_pending < 1:
            raise ValueError(
                f"need num_frames >= 1 and max_pending >= 1, got {num_frames}, {max_pending}"
            )
        config = {
            "run_dir": Path(run_dir),
            "num_frames": num_frames,
            "output_path": None if output_path is None else Path(output_path),
            "output_format": check_output_settings(
                output_format, output_fps(fps, in_betweens), audio_path
            ).name,
            "fps": fps,
            "audio_path": audio_path,
            "in_betweens": in_betweens,
            "flow": flow,
        }
        self._num_frames = num_frames
        check_real_folder(frame_path(run_dir, 0).parent, "output_dir")  # no link outside
        self._inline: FrameWriter | None = None
        self._process: WriterProcess | None = None
        if background:
            count = default_workers() if workers is None else max(1, workers)
            self._process = WriterProcess(config, count, max_pending)
        else:
            self._inline = FrameWriter(**config, max_pending=max_pending)
        self._output: Path | None = None
        self._closed = False

    @property
    def frames_written(self) -> int:
        """PNGs saved by this writer (a writer process tells once it is closed)."""
        worker = self._inline or self._process
        return worker.frames_written

    @property
    def error(self) -> BaseException | None:
        """The writer's first error, if any."""
        if self._process is not None:
            self._process.poll()
            return self._process.error
        return self._inline.error

    @property
    def pid(self) -> int | None:
        """The writer process's id (None inline)."""
        return None if self._process is None else self._process.pid

    def submit(self, index: int, image: Image.Image) -> None:
        """Hand frame ``index`` over (the image is copied: it may change afterwards)."""
        if self._closed:
            raise RuntimeError("submit() after close() or abort()")
        if not 0 <= index < self._num_frames:
            raise IndexError(f"frame index {index} is outside 0..{self._num_frames - 1}")
        self._raise_error()
        pixels = np.array(image if image.mode == "RGB" else image.convert("RGB"))
        if self._process is not None:
            self._process.send(index, pixels)
            return
        with interrupts_deferred() as pressed:  # a frame is written whole, then Ctrl-C acts
            self._inline.write(index, pixels)
        self._raise_error()
        if pressed:
            raise KeyboardInterrupt

    def close(self) -> Path | None:
        """Save all frames handed over, finish the output and return its path (None without
        frame 0)."""
        self._stop(abort=False)
        self._raise_error()
        return self._output

    def abort(self) -> None:
        """Save the frames handed over as PNGs but write no output."""
        self._stop(abort=True)

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        """Close (keeping what was rendered even when the render failed)."""
        try:
            self.close()
        except Exception:
            if exc is None:
                raise
            _logger.exception("the frame writer failed too")  # the render's error goes on

    def _stop(self, abort: bool) -> None:
        if self._closed:
            return
        self._closed = True
        if self._process is not None:
            self._output = self._process.finish(abort)
        elif abort:
            self._inline.abort()
        else:
            self._output = self._inline.finish()

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error
