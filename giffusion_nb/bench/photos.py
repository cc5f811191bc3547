"""Photographic frames for the output benches: scikit-image's sample photographs (shipped in
its wheel, nothing downloaded), panned and cross-faded into an animation of any size."""

from __future__ import annotations

import numpy as np
from PIL import Image

from giffusion_nb.errors import SettingsError

# scikit-image's bundled colour photographs: an astronaut, a cup of coffee, a cat, a rocket.
PHOTOGRAPHS = ("astronaut", "coffee", "chelsea", "rocket")
# Each picture is scaled to this much more than the frame, so that the frame can pan over it.
PAN_MARGIN = 1.25


def photographs() -> list[np.ndarray]:
    """The sample photographs, as (H, W, 3) uint8 arrays."""
    try:
        from skimage import data
    except ImportError:
        raise SettingsError(
            "--gif",
            "the photographic frames come from scikit-image's sample pictures: "
            "pip install scikit-image (or giffusion-nb[bench])",
        ) from None
    return [getattr(data, name)() for name in PHOTOGRAPHS]


def _square(picture: np.ndarray, side: int) -> Image.Image:
    """The middle square of ``picture``, resized to ``side`` pixels (Lanczos)."""
    height, width = picture.shape[:2]
    crop = min(height, width)
    top, left = (height - crop) // 2, (width - crop) // 2
    square = Image.fromarray(picture[top : top + crop, left : left + crop])
    return square.resize((side, side), Image.Resampling.LANCZOS)


def photo_frames(size: int, count: int = 30) -> list[Image.Image]:
    """``count`` frames of ``size`` pixels: each photograph in turn, panned diagonally, then
    cross-faded into the next (the second half of each picture's time), as a travel between
    key frames moves and blends."""
    side = int(size * PAN_MARGIN)
    pictures = [_square(picture, side) for picture in photographs()]
    per_picture = count / (len(pictures) - 1)
    frames = []
    for index in range(count):
        position = index / per_picture
        first = min(int(position), len(pictures) - 2)
        blend = min(1.0, max(0.0, 2 * (position - first) - 1))
        shift = round((side - size) * index / max(1, count - 1))
        a = pictures[first].crop((shift, shift // 2, shift + size, shift // 2 + size))
        b = pictures[first + 1].crop(
            (side - size - shift, shift // 3, side - shift, shift // 3 + size)
        )
        mixed = np.asarray(a, np.float32) * (1 - blend) + np.asarray(b, np.float32) * blend
        frames.append(Image.fromarray(np.round(mixed).astype(np.uint8)))
    return frames
