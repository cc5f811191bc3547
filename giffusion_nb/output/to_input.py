"""Send rendered output back as input: one frame as the image input, a whole render as video."""

from __future__ import annotations

from pathlib import Path

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import open_output
from giffusion_nb.output.formats import FORMATS, format_of_file
from giffusion_nb.output.readers import count_frames, iter_frames, read_frame
from giffusion_nb.output.safe_paths import check_real_folder
from giffusion_nb.output.writers import save_png_atomic

# What decoders raise for a file that is not (or no longer) a readable GIF or MP4.
_UNREADABLE = (OSError, EOFError, ValueError, RuntimeError, SyntaxError)


def extract_frame(
    output: str | Path, index: int, target: str | Path, *, target_field: str = "output_dir"
) -> Path:
    """Save frame ``index`` of a rendered GIF/MP4 as a PNG at ``target``.

    ``target``'s folder must be a real folder, not a symbolic link (``outputs/inputs`` linked
    elsewhere is refused); resolve it first to allow links. Errors name ``output`` (the GIF
    or MP4), ``frame`` (the index) or ``target_field`` (the PNG).
    """
    output = _existing(output)
    target = Path(target)
    if target.is_dir():
        raise SettingsError(
            target_field, f"{str(target)!r} is a folder; expected the PNG file to write"
        )
    try:
        image = read_frame(output, index)
    except IndexError as exc:
        raise SettingsError("frame", str(exc)) from exc
    except _UNREADABLE as exc:
        raise SettingsError(
            "output", f"cannot read {str(output)!r} as a GIF or MP4: {_first_line(exc)}"
        ) from exc
    try:
        save_png_atomic(image, target, field=target_field)
    except OSError as exc:
        raise SettingsError(target_field, f"cannot write {str(target)!r}: {exc.strerror}") from exc
    return target


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def as_video(output: str | Path, target_dir: str | Path) -> Path:
    """A rendered output usable as the video input: an MP4 as it is, a GIF re-encoded to MP4
    (frame for frame, at the GIF's frame rate)."""
    output = _existing(output)
    if not format_of_file(output).shown_as_image:  # a video already
        return output
    _num_frames, fps = count_frames(output)
    check_real_folder(target_dir, "output_dir")  # never through a link out of the folder
    mp4 = FORMATS["mp4"]
    target = Path(target_dir) / mp4.file_name(output.stem)
    encoder = open_output(target, mp4.name, fps)
    try:
        for frame in iter_frames(output):
            encoder.append(frame)
    except BaseException:
        encoder.abort()
        raise
    return encoder.close()


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise SettingsError("output", f"no rendered output at {str(path)!r}")
    return path
