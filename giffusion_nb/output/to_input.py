"""Send rendered output back as input: one frame as the image input, a whole render as video."""

from __future__ import annotations

from pathlib import Path

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import open_output
from giffusion_nb.output.readers import count_frames, iter_frames, read_frame
from giffusion_nb.output.writers import save_png_atomic


def extract_frame(output: str | Path, index: int, target: str | Path) -> Path:
    """Save frame ``index`` of a rendered GIF/MP4 as a PNG at ``target``."""
    output = _existing(output)
    try:
        image = read_frame(output, index)
    except IndexError as exc:
        raise SettingsError("frame", str(exc)) from exc
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(image, target)
    return target


def as_video(output: str | Path, target_dir: str | Path) -> Path:
    """A rendered output usable as the video input: an MP4 as it is, a GIF re-encoded to MP4
    (frame for frame, at the GIF's frame rate)."""
    output = _existing(output)
    if output.suffix.lower() == ".mp4":
        return output
    _num_frames, fps = count_frames(output)
    target = Path(target_dir) / f"{output.stem}.mp4"
    encoder = open_output(target, "mp4", fps)
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
