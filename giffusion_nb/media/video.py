"""Read an input video as a stream of frames, never holding the whole file in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import imageio_ffmpeg
import numpy as np
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.image import check_file

# Decode the first video stream, one output frame per decoded frame: the same frames
# that imageio_ffmpeg.count_frames_and_secs counts, so indices and counts agree.
_STREAM_OPTIONS = ["-map", "0:v:0", "-fps_mode", "passthrough"]


@dataclass(frozen=True)
class VideoInfo:
    """Frame count, frame rate and frame size of a video."""

    num_frames: int
    fps: float
    width: int
    height: int


def video_info(path: str | Path, *, field: str = "video_input") -> VideoInfo:
    """Frame count (exact, by decoding once), frame rate and size of the video at ``path``."""
    path = check_file(path, field=field, expected="a video")
    stream, meta = _open_stream(path, field)
    stream.close()
    try:
        num_frames, _seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    except RuntimeError as exc:
        raise SettingsError(
            field, f"could not count the frames of {path}, it may be damaged: {_reason(exc)}"
        ) from exc
    if not num_frames:
        raise SettingsError(field, f"expected a video with frames, found none in {path}")
    fps = float(meta["fps"])
    if fps <= 0:
        raise SettingsError(field, f"expected a video with a frame rate, found none in {path}")
    width, height = meta["size"]
    return VideoInfo(num_frames=num_frames, fps=fps, width=width, height=height)


def check_video_header(path: str | Path, *, field: str = "video_input") -> tuple[int, int]:
    """The (width, height) a video's header gives, read by starting the decoder (no frame is
    decoded or counted); a ``SettingsError`` naming ``field`` for a file that is no video."""
    path = check_file(path, field=field, expected="a video")
    stream, meta = _open_stream(path, field)
    stream.close()
    return tuple(meta["size"])


def key_frame_text(info: VideoInfo) -> str:
    """A prompts skeleton with key frames at the video's first and last frames."""
    return f"0: \n{info.num_frames - 1}: "


class VideoFrames:
    """Frames of a video by index, read as a stream (one decoder, never the whole file in memory).

    Increasing indices advance the stream; an index lower than the current one
    restarts the decoder. The last frame read is kept, so asking for it again is free.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        size: tuple[int, int] | None = None,
        field: str = "video_input",
    ) -> None:
        if size is not None and not (len(size) == 2 and min(size) >= 1):
            raise ValueError(f"size must be (width, height) with positive sides, got {size}")
        self.info = video_info(path, field=field)
        self._path = Path(path)
        self._size = None if size is None else (int(size[0]), int(size[1]))
        self._field = field
        self._stream: Iterator[bytes] | None = None
        self._next_index = 0
        self._last: tuple[int, Image.Image] | None = None

    def __len__(self) -> int:
        return self.info.num_frames

    def __getitem__(self, index: int) -> Image.Image:
        """Frame ``index`` as an RGB image (resized to ``size`` when given)."""
        if not 0 <= index < self.info.num_frames:
            raise IndexError(
                f"{self._path} has {self.info.num_frames} frames (0 to "
                f"{self.info.num_frames - 1}), no frame {index}"
            )
        if self._last is not None and self._last[0] == index:
            return self._last[1].copy()
        if self._stream is None or index < self._next_index:
            self._restart()
        while True:
            data = _next_frame(self._stream, self._path, self._field)
            if data is None:
                raise SettingsError(
                    self._field,
                    f"{self._path} ended after {self._next_index} frames, "
                    f"expected {self.info.num_frames}; was the file changed?",
                )
            self._next_index += 1
            if self._next_index > index:
                break
        image = _to_image(data, (self.info.width, self.info.height), self._size)
        self._last = (index, image)
        return image.copy()

    def close(self) -> None:
        """Stop the decoder; a later index starts a new one."""
        if self._stream is not None:
            self._stream.close()
        self._stream = None
        self._next_index = 0
        self._last = None

    def __enter__(self) -> VideoFrames:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _restart(self) -> None:
        self.close()
        self._stream, meta = _open_stream(self._path, self._field)
        if tuple(meta["size"]) != (self.info.width, self.info.height):
            self.close()
            raise SettingsError(self._field, f"{self._path} changed while it was being read")


def iter_frames(path: str | Path, *, field: str = "video_input") -> Iterator[Image.Image]:
    """Every frame of the video at ``path`` in order, as RGB images, decoded as a stream."""
    path = check_file(path, field=field, expected="a video")
    stream, meta = _open_stream(path, field)
    return _stream_images(stream, tuple(meta["size"]), path, field)


def _stream_images(
    stream: Iterator[bytes], size: tuple[int, int], path: Path, field: str
) -> Iterator[Image.Image]:
    try:
        while (data := _next_frame(stream, path, field)) is not None:
            yield _to_image(data, size, None)
    finally:
        stream.close()


def _open_stream(path: Path, field: str) -> tuple[Iterator[bytes], dict]:
    """A started imageio_ffmpeg frame generator and its metadata."""
    stream = imageio_ffmpeg.read_frames(str(path), output_params=list(_STREAM_OPTIONS))
    try:
        meta = next(stream)
    except Exception as exc:  # ffmpeg's and the header parser's errors vary with the file
        stream.close()
        raise SettingsError(
            field,
            f"expected a video file (MP4, WebM, GIF...), could not read {path}: {_reason(exc)}",
        ) from exc
    return stream, meta


def _next_frame(stream: Iterator[bytes], path: Path, field: str) -> bytes | None:
    """The next frame's raw RGB bytes, or None at the end of the video."""
    try:
        return next(stream, None)
    except RuntimeError as exc:
        raise SettingsError(
            field, f"could not decode {path}, it may be truncated or damaged: {_reason(exc)}"
        ) from exc


def _to_image(data: bytes, size: tuple[int, int], resize: tuple[int, int] | None) -> Image.Image:
    width, height = size
    image = Image.fromarray(np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3))
    if resize is not None and resize != size:
        image = image.resize(resize, Image.Resampling.LANCZOS)
    return image


def _reason(exc: BaseException) -> str:
    """The line of an ffmpeg error that names the problem (usually the last one)."""
    if "matches no streams" in str(exc):
        return "it has no video stream"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(exc).__name__
