"""Stream same-size frames into a looping GIF or an H.264 MP4, and check the output settings."""

from __future__ import annotations

import contextlib
import errno
import numbers
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import frame_rate
from giffusion_nb.output.formats import MAX_FPS, MIN_FPS, OutputFormat, output_format
from giffusion_nb.output.gif_format import (
    TRAILER,
    file_header,
    frame_delay_cs,
    image_block,
)
from giffusion_nb.output.mux import mux_audio
from giffusion_nb.output.palette import Quantized, quantize_frame

# imageio-ffmpeg's 1..10 quality scale; 7 maps to x264 CRF 15, visually close to lossless.
MP4_QUALITY = 7
# x264's speed preset: on 512 px photographic frames "fast" took 17 ms of CPU a frame against
# "medium"'s 23 ms, at the same PSNR (within 0.02 dB) and 1.6 % more bytes.
MP4_PRESET = "fast"
# A disk with less room than this when ffmpeg fails is taken to be full.
_NEARLY_FULL = 1 << 20


def _file_mode() -> int:
    """The mode ``open()`` gives new files under the process's umask (mkstemp uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def temp_path_beside(path: Path) -> Path:
    """Create an empty, uniquely named ``.tmp`` file in ``path``'s folder and return its path.

    It gets the usual file mode, so the final file (renamed from it) is readable as any other.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    return Path(name)


def check_fps(fps: float, format_name: str) -> float:
    """A frame rate the output format plays (a GIF at most 50); a ``SettingsError`` naming
    ``fps`` otherwise (an unknown format is not ``fps``'s mistake: it is checked alone)."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not MIN_FPS <= fps <= MAX_FPS:
        raise SettingsError(
            "fps", f"expected a frame rate between {MIN_FPS} and {MAX_FPS}, got {fps!r}"
        )
    try:
        fmt = output_format(format_name)
    except SettingsError:
        return float(fps)
    if fmt.name == "gif" and fps > fmt.max_fps:
        raise SettingsError(
            "fps",
            f"a GIF plays at most {fmt.max_fps:g} frames/s (its delays are whole hundredths of "
            f"a second, and browsers play delays under 2 as 10), got {fps!r}; choose mp4 for more",
        )
    return float(fps)


def check_output_settings(
    format_name: str, fps: float, audio_path: Path | None = None
) -> OutputFormat:
    """Validate the output settings and return the format."""
    fmt = output_format(format_name)
    check_fps(fps, fmt.name)
    if fmt.carries_audio and audio_path is not None and not Path(audio_path).is_file():
        raise SettingsError("audio_path", f"no such audio file: {audio_path}")
    return fmt


class OutputEncoder(ABC):
    """Streams same-size frames into one file, written under a temporary name until ``close()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = temp_path_beside(self.path)
        self._size: tuple[int, int] | None = None

    @abstractmethod
    def append(self, image: Image.Image) -> None:
        """Add the next frame."""

    @abstractmethod
    def close(self) -> Path:
        """Finish the file, move it onto ``path`` and return that."""

    @abstractmethod
    def abort(self) -> None:
        """Stop and delete the unfinished file; never raises."""

    def _rgb_frame(self, image: Image.Image) -> Image.Image:
        self._check_size(image.size)
        return image if image.mode == "RGB" else image.convert("RGB")

    def _check_size(self, size: tuple[int, int]) -> None:
        """Every frame has the first frame's (width, height)."""
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise ValueError(
                f"frame size {size[0]}x{size[1]} differs from the first frame's "
                f"{self._size[0]}x{self._size[1]}"
            )

    def _check_has_frames(self) -> None:
        if self._size is None:
            self.abort()
            raise ValueError(f"no frames were appended to {self.path}")

    def _move_into_place(self) -> Path:
        os.replace(self._temp, self.path)
        return self.path


def _squared_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel squared RGB distance of two (H, W, 3) uint8 arrays (channel by channel: numpy
    reduces over a last axis of 3 several times slower)."""
    d = (a.astype(np.int16) - b).astype(np.int32)
    return d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2]


def _same_colour(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel equality of two (H, W, 3) uint8 arrays."""
    return (a[..., 0] == b[..., 0]) & (a[..., 1] == b[..., 1]) & (a[..., 2] == b[..., 2])


def _compact(
    indices: np.ndarray, palette: np.ndarray, keep: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``indices`` onto the colours they use, in a palette of those colours; pixels in
    ``keep`` get the index after them, the transparent one. Returns (indices, palette,
    transparent index or None)."""
    shown = indices if keep is None else indices[~keep]
    used = np.flatnonzero(np.bincount(shown.reshape(-1), minlength=len(palette)))
    lookup = np.zeros(256, dtype=np.uint8)
    lookup[used] = np.arange(len(used), dtype=np.uint8)
    indices = lookup[indices]
    if keep is None:
        return indices, palette[used], None
    return np.where(keep, len(used), indices).astype(np.uint8), palette[used], len(used)


class GifEncoder(OutputEncoder):
    """A looping GIF written frame by frame, so memory stays flat however many frames come.

    Each frame gets a palette of its own (``palette.quantize_frame``: k-means, nearest
    colours, dithered only where that would band), which needs no other frame: the writer
    quantizes frames in parallel processes and hands them over in order
    (``append_quantized``). After the first frame only the rectangle that changes is stored,
    and inside it every pixel that the picture already on screen shows at least as closely
    is transparent, so an unchanged area never flickers between two palettes. A frame with
    no change is still written (a transparent pixel), so the frame count is the number
    appended. A frame goes into the file whole or not at all: a Ctrl-C while it is written
    takes it back out, and the encoder goes on.
    """

    def __init__(self, path: Path, fps: float) -> None:
        check_output_settings("gif", fps)
        super().__init__(path)
        self.fps = fps
        self.frames = 0
        self._file = None
        self._screen: np.ndarray | None = None  # (H, W, 3): what a viewer shows now

    def append(self, image: Image.Image) -> None:
        pixels = np.asarray(self._rgb_frame(image))
        self.append_quantized(pixels, quantize_frame(pixels))

    def append_quantized(self, pixels: np.ndarray, frame: Quantized) -> None:
        """Add the next frame: its ``(H, W, 3)`` uint8 ``pixels`` and ``quantize_frame``'s
        result for them (made in this process or another)."""
        self._check_size((pixels.shape[1], pixels.shape[0]))
        block, screen = self._frame_block(pixels, frame)
        self._write(block, pixels.shape)
        self._screen = screen
        self.frames += 1

    def close(self) -> Path:
        self._check_has_frames()
        try:
            self._file.write(TRAILER)
            self._file.close()
        except BaseException:
            self.abort()
            raise
        return self._move_into_place()

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._temp.unlink(missing_ok=True)

    def _write(self, block: bytes, shape: tuple[int, ...]) -> None:
        """Append ``block`` to the file (the header first); an error aborts the file, an
        interrupt (Ctrl-C) truncates it back to the frame before and propagates."""
        position = None
        try:
            if self._file is None:
                self._file = open(self._temp, "wb")  # noqa: SIM115 (closed by close/abort)
                self._file.write(file_header(shape[1], shape[0]))
            position = self._file.tell()
            self._file.write(block)
            self._file.flush()  # the frame is in the file, not in memory
        except Exception:
            self.abort()
            raise
        except BaseException:
            if position is None or not self._take_back(position):
                self.abort()
            raise

    def _take_back(self, position: int) -> bool:
        try:
            self._file.seek(position)
            self._file.truncate()
            return True
        except (OSError, ValueError):
            return False

    def _frame_block(self, pixels: np.ndarray, frame: Quantized) -> tuple[bytes, np.ndarray]:
        """The frame's image block and what the screen shows after it (nothing is changed)."""
        shown = frame.palette[frame.indices]
        delay = frame_delay_cs(self.fps, self.frames)
        if self._screen is None:
            indices, palette, _none = _compact(frame.indices, frame.palette, None)
            return image_block(indices, palette, (0, 0), delay), shown
        # keep what is on screen where it is the same colour or, outside dithered areas
        # (whose pixels only count together), where it is at least as close to the source
        screen = self._screen
        same = _same_colour(shown, screen)
        closer = _squared_distance(pixels, screen) <= _squared_distance(pixels, shown)
        keep = same | (closer & ~frame.dithered)
        rows, columns = np.flatnonzero(~keep.all(axis=1)), np.flatnonzero(~keep.all(axis=0))
        if rows.size == 0:  # nothing changes: one transparent pixel
            block = image_block(np.ones((1, 1), np.uint8), shown[:1, 0], (0, 0), delay, 1)
            return block, screen
        box = np.s_[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        screen = screen.copy()
        screen[box] = np.where(keep[box][..., None], screen[box], shown[box])
        indices, palette, transparent = _compact(frame.indices[box], frame.palette, keep[box])
        offset = (int(columns[0]), int(rows[0]))
        return image_block(indices, palette, offset, delay, transparent), screen


def _ffmpeg_failed(path: Path) -> OSError:
    """ffmpeg's failure to write ``path``: a full disk (less than ``_NEARLY_FULL`` bytes free)
    as ``ENOSPC``, else an error that points to ffmpeg's own messages."""
    with contextlib.suppress(OSError):
        if shutil.disk_usage(path.parent).free < _NEARLY_FULL:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(f"ffmpeg failed to write {path} (see its messages on stderr)")


def _even_sized(frame: np.ndarray) -> np.ndarray:
    """Pad an odd width or height by repeating the last column or row (H.264 needs even)."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


class Mp4Encoder(OutputEncoder):
    """An H.264 MP4 fed to ffmpeg frame by frame; optional audio, cut to the video's length or
    padded with silence, is added when the video is complete."""

    def __init__(self, path: Path, fps: float, audio_path: Path | None = None) -> None:
        super().__init__(path)
        self.fps = float(fps)
        self.audio_path = audio_path
        self.frames = 0
        self._writer = None  # imageio-ffmpeg generator, started by the first frame

    def append(self, image: Image.Image) -> None:
        frame = _even_sized(np.asarray(self._rgb_frame(image)))
        try:
            if self._writer is None:
                self._writer = self._start_ffmpeg((frame.shape[1], frame.shape[0]))
            self._writer.send(frame)
        except Exception as error:  # ffmpeg stopped: a full disk, or what it said on stderr
            failed = _ffmpeg_failed(self.path) if self._writer is not None else error
            self.abort()
            raise failed from error
        except BaseException:
            self.abort()
            raise
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and check that it holds every frame (ffmpeg's exit status does not
        come back through imageio-ffmpeg: a disk that fills while ffmpeg finishes the file
        leaves a file that cannot be read)."""
        self._check_has_frames()
        try:
            self._writer.close()  # waits for ffmpeg to finish the file
            try:
                frames, _seconds = imageio_ffmpeg.count_frames_and_secs(str(self._temp))
            except (RuntimeError, OSError):
                frames = 0
            if frames != self.frames:
                raise _ffmpeg_failed(self.path)
        except BaseException:
            self.abort()
            raise
        if self.audio_path is not None:
            self._add_audio()
        return self._move_into_place()

    def _add_audio(self) -> None:
        """The audio beside the finished video, for exactly frames / fps seconds."""
        muxed = temp_path_beside(self.path)
        try:
            mux_audio(self._temp, self.audio_path, self.frames / frame_rate(self.fps), muxed)
            os.replace(muxed, self._temp)
        except BaseException:
            muxed.unlink(missing_ok=True)
            self.abort()
            raise

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # ffmpeg failed already; the caller has that
                self._writer.close()
        self._temp.unlink(missing_ok=True)

    def _start_ffmpeg(self, size: tuple[int, int]):
        output_params = ["-f", "mp4", "-movflags", "+faststart", "-preset", MP4_PRESET]
        writer = imageio_ffmpeg.write_frames(
            str(self._temp),
            size,
            fps=self.fps,
            # the exact rate (30000/1001, not 29.97), after imageio-ffmpeg's own -r: it wins
            input_params=["-r", str(frame_rate(self.fps))],
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=MP4_QUALITY,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=output_params,
        )
        writer.send(None)  # start the generator
        return writer


def open_output(
    path: Path, format_name: str, fps: float, audio_path: Path | None = None
) -> OutputEncoder:
    """An encoder for a GIF or MP4 at ``path``; a GIF ignores ``audio_path``."""
    fmt = check_output_settings(format_name, fps, audio_path)
    if fmt.name == "gif":
        return GifEncoder(path, fps)
    return Mp4Encoder(path, fps, audio_path)
