"""Key-frame images (``80: a lion --image lion.png``): checked where the key frames are read
(the header only), each loaded only for the call that needs it; errors name the line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.media.image import check_image_header, load_image

T = TypeVar("T")


def check_key_frame_images(key_frames: Sequence[KeyFrame]) -> None:
    """Each ``--image`` is an image file (its header read), or an error naming its line."""
    for key_frame in key_frames:
        if key_frame.image is not None:
            _named(key_frame, lambda path: check_image_header(path, field="prompts"))


def load_key_frame_image(key_frames: Sequence[KeyFrame], frame: int) -> Image.Image:
    """The picture of key frame ``frame``'s ``--image``, or an error naming its line."""
    key_frame = next(key_frame for key_frame in key_frames if key_frame.frame == frame)
    return _named(key_frame, lambda path: load_image(path, field="prompts"))


def _named(key_frame: KeyFrame, read: Callable[[str], T]) -> T:
    try:
        return read(key_frame.image)
    except SettingsError as exc:
        raise SettingsError(
            "prompts",
            f"the image of key frame {key_frame.frame}: {exc.message}",
            line=key_frame.line,
        ) from exc
