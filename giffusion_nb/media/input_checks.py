"""Cheap checks that the media inputs named in the settings can be read, cached per file.

Validation runs them on every edit in the panel, so they read headers only (an image's
structure, a video's stream header, an audio file's header) and remember each file's
result until its size or modification time changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio import audio_duration
from giffusion_nb.media.image import check_image_header
from giffusion_nb.media.video import check_video_header

_CHECKS: dict[str, Callable[..., object]] = {
    "image": check_image_header,
    "video": check_video_header,
    "audio": audio_duration,
}


def check_media_input(kind: str, path: str, field: str) -> None:
    """Raise the ``SettingsError`` (naming ``field``) of a ``kind`` file (image, video or
    audio) that is missing or cannot be read; nothing for a readable one."""
    location = Path(path).expanduser()
    try:
        stat = location.stat()
    except OSError:
        raise SettingsError(field, f"no such file: {path!r}") from None
    problem = _problem(kind, str(location), field, stat.st_size, stat.st_mtime_ns)
    if problem is not None:
        raise SettingsError(field, problem)


@functools.lru_cache(maxsize=64)
def _problem(kind: str, path: str, field: str, size: int, mtime_ns: int) -> str | None:
    """The message of the file's error, or None (cached by size and modification time)."""
    try:
        _CHECKS[kind](path, field=field)
    except SettingsError as exc:
        return exc.message
    return None
