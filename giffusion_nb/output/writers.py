"""Save rendered frames as atomic PNGs and encode them into a GIF or MP4 on a background thread."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from pathlib import Path

from PIL import Image

from giffusion_nb.output.encoders import OutputEncoder, check_output_settings, open_output
from giffusion_nb.output.safe_paths import check_real_folder, replace_file

_logger = logging.getLogger(__name__)


def frame_path(run_dir: Path, index: int) -> Path:
    """Where frame ``index`` of a run is saved: ``run_dir/frames/0007.png``."""
    return Path(run_dir) / "frames" / f"{index:04d}.png"


def save_png_atomic(image: Image.Image, path: Path, field: str = "output_dir") -> None:
    """Save ``image`` as a PNG so that ``path`` only ever holds a complete file; its folder must
    be a real folder, not a symbolic link (a ``SettingsError`` naming ``field``)."""
    replace_file(path, lambda file: image.save(file, format="PNG"), field)


def existing_frames(run_dir: Path) -> set[int]:
    """Indices of the complete frame PNGs saved under ``run_dir/frames``."""
    indices = set()
    for path in (Path(run_dir) / "frames").glob("*.png"):
        if path.stem.isdigit() and path.name == frame_path(run_dir, int(path.stem)).name:
            indices.add(int(path.stem))
    return indices


def _load_frame(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


WRITER_NICENESS = 10
_STOP = object()


class BackgroundWriter:
    """Saves frames as PNGs and encodes the output on a daemon thread.

    Frames may arrive out of order or with gaps; the encoder gets them strictly in order,
    reading from disk any frame saved by an earlier run. ``close()`` encodes the frames
    0..k that exist without a gap, so a stopped render still gives a playable output.
    An error on the thread is re-raised by the next ``submit()`` or ``close()``; after it
    the thread still saves queued frames as PNGs but stops encoding.

    ``background=False`` does the same work in ``submit()`` itself: when the model renders
    on the CPU it already keeps every core busy, and a second thread only slows it down
    (measured on 2 cores: 0.75x the bare loop's frames/s in a thread, 0.95x inline).
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
    ) -> None:
        if num_frames < 1 or max_pending < 1:
            raise ValueError(
                f"need num_frames >= 1 and max_pending >= 1, got {num_frames}, {max_pending}"
            )
        self._format = check_output_settings(output_format, fps, audio_path).name
        self._run_dir = Path(run_dir)
        self._num_frames = num_frames
        self._output_path = None if output_path is None else Path(output_path)
        self._fps = fps
        self._audio_path = audio_path
        self._max_pending = max_pending
        check_real_folder(frame_path(self._run_dir, 0).parent, "output_dir")  # no link outside
        self._on_disk = existing_frames(self._run_dir)
        self._pending: dict[int, Image.Image] = {}  # out-of-order frames awaiting their turn
        self._next = 0  # the frame the encoder needs next
        self._encoder: OutputEncoder | None = None
        self._output: Path | None = None
        self._error: BaseException | None = None
        self._frames_written = 0
        self._aborting = False
        self._closed = False
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="giffusion-writer", daemon=True)
            self._thread.start()

    @property
    def frames_written(self) -> int:
        """PNGs saved by this writer so far."""
        return self._frames_written

    @property
    def error(self) -> BaseException | None:
        """The first error raised on the writer thread, if any."""
        return self._error

    def submit(self, index: int, image: Image.Image) -> None:
        """Queue frame ``index``; blocks only while ``max_pending`` frames wait.

        The image must not be modified afterwards.
        """
        if self._closed:
            raise RuntimeError("submit() after close() or abort()")
        if not 0 <= index < self._num_frames:
            raise IndexError(f"frame index {index} is outside 0..{self._num_frames - 1}")
        self._raise_error()
        if self._thread is None:
            self._process(index, image)
            self._raise_error()
        else:
            self._queue.put((index, image))

    def close(self) -> Path | None:
        """Save all queued frames, finish the output and return its path (None without frame 0)."""
        self._stop()
        self._raise_error()
        return self._output

    def abort(self) -> None:
        """Save the queued frames as PNGs but write no output."""
        self._aborting = True
        self._stop()

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

    def _stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            self._finish_safely()
        else:
            self._queue.put(_STOP)
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    @property
    def _encoding(self) -> bool:
        return self._output_path is not None and self._error is None and not self._aborting

    def _run(self) -> None:
        _yield_to_the_model()
        # Consume until the sentinel even after an error, so submit() never blocks forever.
        while (item := self._queue.get()) is not _STOP:
            self._process(*item)
        self._finish_safely()

    # Exception, not BaseException: Ctrl-C during an inline write must stop the render (which
    # then closes the writer), not pass for a failure of the writer.
    def _process(self, index: int, image: Image.Image) -> None:
        try:
            self._write(index, image)
        except Exception as error:
            self._fail(error)

    def _finish_safely(self) -> None:
        try:
            self._finish()
        except Exception as error:
            self._fail(error)

    def _write(self, index: int, image: Image.Image) -> None:
        save_png_atomic(image, frame_path(self._run_dir, index))
        self._on_disk.add(index)
        self._frames_written += 1
        if not self._encoding or index < self._next:
            return
        if index == self._next or len(self._pending) < self._max_pending:
            self._pending[index] = image  # otherwise it is read back from its PNG when due
        self._encode_ready_frames()

    def _encode_ready_frames(self) -> None:
        while self._next < self._num_frames:
            image = self._pending.pop(self._next, None)
            if image is None:
                if self._next not in self._on_disk:
                    return
                image = _load_frame(frame_path(self._run_dir, self._next))
            if self._encoder is None:
                self._encoder = open_output(
                    self._output_path, self._format, self._fps, self._audio_path
                )
            self._encoder.append(image)
            self._next += 1

    def _finish(self) -> None:
        if self._encoding:
            self._encode_ready_frames()
            if self._encoder is not None:
                self._output = self._encoder.close()
        elif self._encoder is not None:
            self._encoder.abort()
        self._encoder = None

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._pending.clear()
        if self._encoder is not None:
            self._encoder.abort()
            self._encoder = None


def _yield_to_the_model() -> None:
    """Lower this thread's CPU priority (Linux: threads have their own nice value), so saving
    and encoding run in the time the model leaves free instead of slowing it down."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)
