"""The output formats, in one registry every other module asks: each one's file suffix, MIME
type, highest frame rate it plays, whether it carries the audio and how a page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.gif_format import GIF_MAX_FPS

MIN_FPS = 1
MAX_FPS = 120


@dataclass(frozen=True)
class OutputFormat:
    """What the project knows of one output format."""

    name: str
    suffix: str
    mime: str
    max_fps: float
    carries_audio: bool
    shown_as_image: bool  # a page shows it in an <img> (GIF), else in a video player

    def file_name(self, stem: str) -> str:
        return f"{stem}{self.suffix}"


FORMATS: dict[str, OutputFormat] = {
    "gif": OutputFormat("gif", ".gif", "image/gif", GIF_MAX_FPS, False, True),
    "mp4": OutputFormat("mp4", ".mp4", "video/mp4", MAX_FPS, True, False),
}


def output_format(name: str) -> OutputFormat:
    """The format called ``name`` (any case, spaces ignored); a ``SettingsError`` otherwise."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in FORMATS:
        expected = " or ".join(repr(known) for known in FORMATS)
        raise SettingsError("output_format", f"expected {expected}, got {name!r}")
    return FORMATS[key]


def format_of_file(path: str | Path) -> OutputFormat:
    """The format of a rendered file, from its first bytes (a GIF's signature), else MP4; a
    file that cannot be read (gone since) by its suffix."""
    try:
        with open(path, "rb") as file:
            is_gif = file.read(4) == b"GIF8"
    except OSError:
        is_gif = Path(path).suffix.lower() == FORMATS["gif"].suffix
    return FORMATS["gif"] if is_gif else FORMATS["mp4"]
