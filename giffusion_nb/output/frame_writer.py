"""The writer's work: save each frame as a PNG and feed the output encoder in frame order,
optionally saving and quantizing frames in helper processes. It runs in the render's process
(inline) or in a writer process of its own (``writer_process``)."""

from __future__ import annotations

import concurrent.futures
import errno
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import GifEncoder, OutputEncoder, open_output
from giffusion_nb.output.frame_files import (
    existing_frames,
    frame_path,
    load_frame_pixels,
    save_png_atomic,
)
from giffusion_nb.output.in_betweens import InBetweens, output_fps
from giffusion_nb.output.palette import Quantized, quantize_frame

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


@dataclass
class _Frame:
    """A frame waiting for its turn: its pixels (None: read it back from its PNG) and, for
    a GIF, its quantization (done, in flight in a helper, or None: not made yet)."""

    pixels: np.ndarray | None
    quantized: Quantized | concurrent.futures.Future | None = None


def save_and_quantize(path: Path, pixels: np.ndarray, quantize: bool) -> Quantized | None:
    """Save ``pixels`` as the PNG ``path``; with ``quantize``, return ``quantize_frame``'s
    result for them (a helper process's task)."""
    save_png_atomic(Image.fromarray(pixels), path)
    return quantize_frame(pixels) if quantize else None


class FrameWriter:
    """Saves frames as PNGs and encodes the output, in frame order.

    Frames may arrive out of order or with gaps; the encoder gets them strictly in order,
    reading from disk any frame saved earlier (by an earlier run, or one that could not wait
    in memory: at most ``max_pending`` do). ``finish()`` encodes the frames 0..k that exist
    without a gap, so a stopped render still gives a playable output. After an error
    (``error``) frames are still saved as PNGs, but nothing more is encoded. A full disk is a
    ``SettingsError`` naming ``output_dir``.

    With ``helpers`` > 0, that many processes save the PNGs and quantize the GIF frames in
    parallel (each frame alone); this process puts them in order and writes the delta frames.
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
        helpers: int = 0,
        in_betweens: int = 0,
        flow: str = "dis",
    ) -> None:
        self._run_dir = Path(run_dir)
        self._num_frames = num_frames
        self._output_path = None if output_path is None else Path(output_path)
        self._format, self._fps, self._audio_path = output_format, fps, audio_path
        self._max_pending = max_pending
        self._on_disk = existing_frames(self._run_dir)
        self._pending: dict[int, _Frame] = {}  # frames the encoder will need, by index
        self._saving: dict[int, concurrent.futures.Future] = {}  # PNGs in a helper
        self._next = 0  # the frame the encoder needs next
        self._encoder: OutputEncoder | None = None
        self._in_betweens = InBetweens(in_betweens, flow)
        self.output: Path | None = None
        self.error: BaseException | None = None
        self.frames_written = 0
        self._aborting = False
        self._pool = None
        if helpers > 0:
            # fork: this process holds no model and no threads yet (see writer_process)
            self._pool = concurrent.futures.ProcessPoolExecutor(
                helpers, mp_context=multiprocessing.get_context("fork")
            )
            self._pool.submit(int).result()  # start them now, before any thread exists

    @property
    def _encoding(self) -> bool:
        return self._output_path is not None and self.error is None and not self._aborting

    @property
    def _gif(self) -> bool:
        return self._format == "gif"

    def write(self, index: int, pixels: np.ndarray) -> None:
        """Save frame ``index`` (``(H, W, 3)`` uint8) and encode the frames now in order."""
        keep = self._keeps(index)
        if self._pool is None:
            try:
                save_png_atomic(Image.fromarray(pixels), frame_path(self._run_dir, index))
            except Exception as error:
                self._fail(error)
                return
            self._saved(index)
            if keep:
                self._pending[index] = _Frame(pixels)
        else:
            path = frame_path(self._run_dir, index)
            future = self._pool.submit(save_and_quantize, path, pixels, keep and self._gif)
            self._saving[index] = future
            if keep:
                self._pending[index] = _Frame(pixels, future if self._gif else None)
            self._collect(wait=len(self._saving) > self._max_pending)
        self._encode_ready_frames(wait=False)

    def finish(self) -> Path | None:
        """Wait for every PNG, encode the frames 0..k that exist, close the output and
        return its path (None without frame 0, or after an error)."""
        try:
            self._collect(wait=True, every=True)
            if self._encoding:
                self._encode_ready_frames(wait=True)
                if self._encoder is not None:
                    self.output = self._encoder.close()
            elif self._encoder is not None:
                self._encoder.abort()
        except Exception as error:
            self._fail(error)
        finally:
            self._encoder = None
            self._shut_down()
        return self.output

    def abort(self) -> None:
        """Wait for every PNG, but write no output."""
        self._aborting = True
        self.finish()

    # --- saving ---------------------------------------------------------------------------

    def _keeps(self, index: int) -> bool:
        """Whether frame ``index`` waits in memory for the encoder (else it is read back)."""
        if not self._encoding or index < self._next:
            return False
        return index == self._next or len(self._pending) < self._max_pending

    def _saved(self, index: int) -> None:
        self._on_disk.add(index)
        self.frames_written += 1

    def _collect(self, wait: bool, every: bool = False) -> None:
        """Note the PNGs the helpers have saved; with ``wait``, wait for the oldest first
        (for all of them with ``every``)."""
        if not self._saving:
            return
        if wait:
            futures = self._saving.values() if every else [self._saving[min(self._saving)]]
            concurrent.futures.wait(futures)
        for index in [index for index, future in self._saving.items() if future.done()]:
            future = self._saving.pop(index)
            if future.exception() is not None:
                self._pending.pop(index, None)
                self._fail(future.exception())
            else:
                self._saved(index)

    # --- encoding -------------------------------------------------------------------------

    def _encode_ready_frames(self, wait: bool) -> None:
        """Encode frames from ``_next`` on while they are ready (with ``wait``, while they
        exist: waiting for a helper, or reading their PNG back)."""
        while self._encoding and self._next < self._num_frames:
            frame = self._pending.get(self._next)
            if frame is None:
                if self._next not in self._on_disk:
                    return
                frame = _Frame(load_frame_pixels(frame_path(self._run_dir, self._next)))
            quantized = frame.quantized
            if isinstance(quantized, concurrent.futures.Future):
                if not (wait or quantized.done()):
                    return
                try:
                    quantized = quantized.result()
                except Exception as error:
                    self._fail(error)
                    return
            try:
                self._append(frame.pixels, quantized)
            except Exception as error:
                self._fail(error)
                return
            self._pending.pop(self._next, None)
            self._next += 1

    def _append(self, pixels: np.ndarray, quantized: Quantized | None) -> None:
        """Encode a frame, after its in-betweens from the frame before (if asked for)."""
        if self._encoder is None:
            fps = output_fps(self._fps, self._in_betweens.count)
            self._encoder = open_output(self._output_path, self._format, fps, self._audio_path)
        for between in self._in_betweens.before(pixels):
            self._append_one(between, None)
        self._append_one(pixels, quantized)

    def _append_one(self, pixels: np.ndarray, quantized: Quantized | None) -> None:
        if isinstance(self._encoder, GifEncoder):
            self._encoder.append_quantized(pixels, quantized or quantize_frame(pixels))
        else:
            self._encoder.append(Image.fromarray(pixels))

    # --- errors ---------------------------------------------------------------------------

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = _named(error, self._run_dir)
        self._pending.clear()
        if self._encoder is not None:
            self._encoder.abort()
            self._encoder = None

    def _shut_down(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _named(error: BaseException, run_dir: Path) -> BaseException:
    """A full disk as a ``SettingsError`` that says what is kept and how to go on."""
    if isinstance(error, OSError) and error.errno in _DISK_FULL:
        named = SettingsError(
            "output_dir",
            f"the disk is full ({error.strerror}: {error.filename or run_dir}); every frame "
            f"saved so far is complete and kept: free some space, then resume the run "
            f"(giffusion-nb render --resume {run_dir})",
        )
        named.__cause__ = error
        return named
    return error
