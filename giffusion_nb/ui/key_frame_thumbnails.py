"""Thumbnails of the key-frame images (``--image``) on a preview's frame axis, above each key
frame that has one; a picture that does not load shows as nothing (the prompts field names it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.media.image import load_image

THUMBNAIL_PX = 32  # the longer side of a thumbnail
MAX_THUMBNAILS = 24  # more would hide each other; the key-frame lines still show every one


class KeyFrameThumbnails:
    """The pictures of the key frames with an image, small, at the top of ``ax``."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.boxes: list[AnnotationBbox] = []
        self._pixels: dict[tuple[str, int], np.ndarray] = {}  # (path, mtime) -> thumbnail

    def set(self, key_frames: Sequence[KeyFrame]) -> None:
        """Show the images of ``key_frames`` (those without one show nothing)."""
        for box in self.boxes:
            box.remove()
        self.boxes = []
        with_images = [key_frame for key_frame in key_frames if key_frame.image is not None]
        for key_frame in with_images[:MAX_THUMBNAILS]:
            pixels = self._thumbnail(key_frame.image)
            if pixels is None:
                continue
            box = AnnotationBbox(
                OffsetImage(pixels, zoom=1.0),
                (key_frame.frame, 0.88),
                xycoords=self.ax.get_xaxis_transform(),  # x in frames, y in axes
                frameon=True,
                pad=0.1,
            )
            self.ax.add_artist(box)
            self.boxes.append(box)

    def _thumbnail(self, path: str) -> np.ndarray | None:
        try:
            key = (path, Path(path).stat().st_mtime_ns)
        except OSError:
            return None
        if key not in self._pixels:
            try:
                image = load_image(path, field="prompts")
            except SettingsError:
                return None
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
            self._pixels[key] = np.asarray(image)
        return self._pixels[key]
