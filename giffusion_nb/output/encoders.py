"""Stream same-size frames into a looping GIF or an H.264 MP4, and check the output settings."""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from giffusion_nb.choices import OUTPUT_FORMATS
from giffusion_nb.errors import SettingsError

MIN_FPS = 1
MAX_FPS = 120
# imageio-ffmpeg's 1..10 quality scale; 7 maps to x264 CRF 15, visually close to lossless.
MP4_QUALITY = 7
# Browsers play GIF delays under 20 ms as 100 ms, so faster GIFs would play slower.
GIF_MIN_DELAY_MS = 20
GIF_PALETTE_SAMPLE = 128
# A frame up to GIF_PALETTE_SAMPLE pixels a side is dithered onto the previous frame's
# palette while that quantizes its colours at most 10% worse (RMS) than its own palette
# would, and no 4x4 block of the result has a channel's mean off by more than 24 levels:
# about the most that dithering a noisy frame onto its own palette shows, and less than a
# patch of a colour the palette lacks.
GIF_PALETTE_REUSE_TOLERANCE = 1.1
GIF_REUSE_BLOCK = 4
GIF_REUSE_MAX_BLOCK_ERROR = 24


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


def check_output_format(output_format: str) -> str:
    """The output format, ``gif`` or ``mp4``, in lower case; a ``SettingsError`` otherwise."""
    fmt = output_format.strip().lower() if isinstance(output_format, str) else output_format
    if fmt not in OUTPUT_FORMATS:
        raise SettingsError("output_format", f"expected 'gif' or 'mp4', got {output_format!r}")
    return fmt


def check_fps(fps: float) -> float:
    """A frame rate the outputs can play; a ``SettingsError`` otherwise."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not MIN_FPS <= fps <= MAX_FPS:
        raise SettingsError(
            "fps", f"expected a frame rate between {MIN_FPS} and {MAX_FPS}, got {fps!r}"
        )
    return float(fps)


def check_output_settings(output_format: str, fps: float, audio_path: Path | None = None) -> str:
    """Validate the output settings and return the format in lower case."""
    fmt = check_output_format(output_format)
    check_fps(fps)
    if fmt == "mp4" and audio_path is not None and not Path(audio_path).is_file():
        raise SettingsError("audio_path", f"no such audio file: {audio_path}")
    return fmt


def gif_frame_duration(fps: float) -> int:
    """Per-frame GIF delay in ms for ``fps``.

    GIF stores delays in hundredths of a second, so ``1000 / fps`` is rounded to 10 ms
    (12.5 fps -> 80 ms, 24 fps -> 40 ms, 30 fps -> 30 ms) and never goes under 20 ms.
    """
    return max(GIF_MIN_DELAY_MS, round(100 / fps) * 10)


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
        if self._size is None:
            self._size = image.size
        elif image.size != self._size:
            raise ValueError(
                f"frame size {image.size[0]}x{image.size[1]} differs from the first frame's "
                f"{self._size[0]}x{self._size[1]}"
            )
        return image if image.mode == "RGB" else image.convert("RGB")

    def _check_has_frames(self) -> None:
        if self._size is None:
            self.abort()
            raise ValueError(f"no frames were appended to {self.path}")

    def _move_into_place(self) -> Path:
        os.replace(self._temp, self.path)
        return self.path


def _octree_palette(image: Image.Image) -> Image.Image:
    """``image`` mapped onto a 256-colour palette made for it by Pillow's fast octree (a P
    image, which carries the palette): about 0.3 ms at 64 px, where median cut takes 7 ms
    and does no better."""
    return image.quantize(colors=256, method=Image.Quantize.FASTOCTREE)


def _median_cut_palette(image: Image.Image) -> Image.Image:
    """A 256-colour median-cut palette for a frame larger than ``GIF_PALETTE_SAMPLE`` pixels a
    side, made from a copy box-reduced to that size (~25 ms, small next to rendering a frame
    that size); it does better than the octree on smooth gradients."""
    factor = math.ceil(max(image.size) / GIF_PALETTE_SAMPLE)
    return image.reduce(factor).quantize(colors=256, method=Image.Quantize.MEDIANCUT)


def _palette_colours(image: Image.Image) -> np.ndarray:
    """The palette of a P image as an ``(n, 3)`` float array."""
    return np.asarray(image.getpalette(), dtype=np.float32).reshape(-1, 3)


def _rms_error(pixels: np.ndarray, colours: np.ndarray, indices: np.ndarray) -> float:
    """Root-mean-square distance from ``(n, 3)`` pixels to the colours they are mapped to."""
    return float(np.sqrt(np.square(pixels - np.take(colours, indices, axis=0)).sum() / len(pixels)))


def _palette_fits(palette: Image.Image, image: Image.Image, mapped: Image.Image) -> bool:
    """Whether ``palette`` quantizes ``image`` almost as closely as ``mapped`` does, the image
    on a palette made for it (a P image like ``palette``).

    Each pixel is taken to its colour in ``mapped`` and on to the nearest colour of
    ``palette``; the root-mean-square error of that path may exceed the one of ``mapped``
    alone by ``GIF_PALETTE_REUSE_TOLERANCE`` at most. A palette made for busier colours than
    the image's fails, as does one lacking colours that cover much of the image.
    """
    pixels = np.asarray(image, dtype=np.float32).reshape(-1, 3)
    indices = np.asarray(mapped).reshape(-1)
    own = _palette_colours(mapped)
    kept = _palette_colours(palette)
    # |own - kept|² less |own|², which is the same for every kept colour
    nearest_kept = (np.square(kept).sum(axis=1) - 2 * own @ kept.T).argmin(axis=1)
    own_error = _rms_error(pixels, own, indices)
    kept_error = _rms_error(pixels, kept, nearest_kept[indices])
    return kept_error <= GIF_PALETTE_REUSE_TOLERANCE * own_error


def _worst_block_error(frame: Image.Image, image: Image.Image) -> int:
    """The largest difference, in levels of one channel, between the mean colours of a
    ``GIF_REUSE_BLOCK``-pixel block of the dithered ``frame`` and of its source ``image``.

    Dithering keeps these means close to the source's wherever the palette has colours
    around the source's; a small patch of a colour it lacks shows up here.
    """
    dithered = np.asarray(frame.convert("RGB").reduce(GIF_REUSE_BLOCK), dtype=np.int16)
    source = np.asarray(image.reduce(GIF_REUSE_BLOCK), dtype=np.int16)
    return int(np.abs(dithered - source).max())


def _same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


def _repeat_frame(size: tuple[int, int], index: int) -> Image.Image:
    """A frame that is transparent everywhere, so it shows the previous frame again."""
    frame = Image.new("P", size, index)
    frame.putpalette(bytes(12))
    frame.info["transparency"] = index
    return frame


class GifEncoder(OutputEncoder):
    """A looping GIF with an adaptive palette per frame, or the previous frame's where it fits.

    Frames are quantized as they arrive and kept as 1-byte-per-pixel P images until
    ``close()``. Pillow drops a frame identical to the previous one (adding its delay to
    that one), which would change the frame count; such repeats are written as fully
    transparent frames instead, which display the same picture.
    """

    def __init__(self, path: Path, fps: float) -> None:
        super().__init__(path)
        self.duration_ms = gif_frame_duration(fps)
        self._frames: list[Image.Image | None] = []  # None: same pixels as the frame before
        self._last_distinct: Image.Image | None = None
        self._palette: Image.Image | None = None  # P image whose palette the last frame used

    def append(self, image: Image.Image) -> None:
        frame = self._quantize(self._rgb_frame(image))
        if self._last_distinct is not None and _same_pixels(frame, self._last_distinct):
            self._frames.append(None)
        else:
            self._frames.append(frame)
            self._last_distinct = frame

    def close(self) -> Path:
        self._check_has_frames()
        frames = self._frames_to_write()
        self._frames = []
        try:
            frames[0].save(
                self._temp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=self.duration_ms,
                loop=0,
                disposal=1,  # keep each frame under the next: repeat frames rely on it
                optimize=False,
            )
        except BaseException:
            self.abort()
            raise
        return self._move_into_place()

    def abort(self) -> None:
        self._frames = []
        self._temp.unlink(missing_ok=True)

    def _quantize(self, image: Image.Image) -> Image.Image:
        """RGB -> P, Floyd-Steinberg dithered onto an adaptive palette, which avoids banding
        (Pillow ignores ``dither`` while it builds a palette, hence the second step).

        Pillow caches the nearest palette colour of each colour it dithers, per palette
        image, and filling that cache is most of the work on a noisy 64 px frame (about
        4 ms). So up to ``GIF_PALETTE_SAMPLE`` pixels a side, the previous frame's palette
        image is kept while it serves this frame almost as well as the frame's own octree
        palette would (``_palette_fits``) and keeps the colour of every block
        (``_worst_block_error``): a noisy 64 px frame then costs under 1 ms, and a frame
        whose colours moved away gets its own palette. Larger frames always get their own.
        """
        if max(image.size) > GIF_PALETTE_SAMPLE:
            return image.quantize(
                palette=_median_cut_palette(image), dither=Image.Dither.FLOYDSTEINBERG
            )
        mapped = _octree_palette(image)
        if self._palette is not None and _palette_fits(self._palette, image, mapped):
            frame = image.quantize(palette=self._palette, dither=Image.Dither.FLOYDSTEINBERG)
            if _worst_block_error(frame, image) <= GIF_REUSE_MAX_BLOCK_ERROR:
                return frame
        self._palette = mapped
        return image.quantize(palette=mapped, dither=Image.Dither.FLOYDSTEINBERG)

    def _frames_to_write(self) -> list[Image.Image]:
        """Replace repeats by transparent frames that Pillow cannot merge with a neighbour.

        Pillow compares palette indices when two frames share a palette, so the repeat's
        index must differ from the previous frame's first pixel, and from both corner pixels
        of the next frame, or that frame would be cropped onto stale pixels.
        """
        corners = [(0, 0), (self._size[0] - 1, self._size[1] - 1)]
        repeats: dict[int, Image.Image] = {}
        frames: list[Image.Image] = []
        for frame, following in zip(self._frames, [*self._frames[1:], None], strict=True):
            if frame is None:
                avoid = {frames[-1].getpixel((0, 0))}
                if following is not None:
                    avoid |= {following.getpixel(corner) for corner in corners}
                index = min(set(range(4)) - avoid)
                frame = repeats.setdefault(index, _repeat_frame(self._size, index))
            frames.append(frame)
        return frames


def _even_sized(frame: np.ndarray) -> np.ndarray:
    """Pad an odd width or height by repeating the last column or row (H.264 needs even)."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


class Mp4Encoder(OutputEncoder):
    """An H.264 MP4 fed to ffmpeg frame by frame, with optional audio cut to the video's length."""

    def __init__(self, path: Path, fps: float, audio_path: Path | None = None) -> None:
        super().__init__(path)
        self.fps = float(fps)
        self.audio_path = audio_path
        self._writer = None  # imageio-ffmpeg generator, started by the first frame

    def append(self, image: Image.Image) -> None:
        frame = _even_sized(np.asarray(self._rgb_frame(image)))
        try:
            if self._writer is None:
                self._writer = self._start_ffmpeg((frame.shape[1], frame.shape[0]))
            self._writer.send(frame)
        except BaseException:
            self.abort()
            raise

    def close(self) -> Path:
        self._check_has_frames()
        self._writer.close()  # waits for ffmpeg to finish the file
        if self._temp.stat().st_size == 0:
            self.abort()
            raise OSError(f"ffmpeg failed to write {self.path} (see its messages on stderr)")
        return self._move_into_place()

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # ffmpeg failed already; the caller has that
                self._writer.close()
        self._temp.unlink(missing_ok=True)

    def _start_ffmpeg(self, size: tuple[int, int]):
        output_params = ["-f", "mp4", "-movflags", "+faststart"]
        if self.audio_path is not None:
            output_params.append("-shortest")
        writer = imageio_ffmpeg.write_frames(
            str(self._temp),
            size,
            fps=self.fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=MP4_QUALITY,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=output_params,
            audio_path=None if self.audio_path is None else str(self.audio_path),
            audio_codec="aac",
        )
        writer.send(None)  # start the generator
        return writer


def open_output(
    path: Path, output_format: str, fps: float, audio_path: Path | None = None
) -> OutputEncoder:
    """An encoder for a GIF or MP4 at ``path``; a GIF ignores ``audio_path``."""
    fmt = check_output_settings(output_format, fps, audio_path)
    if fmt == "gif":
        return GifEncoder(path, fps)
    return Mp4Encoder(path, fps, audio_path)
