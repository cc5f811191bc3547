"""Colour coherence over a render: each frame's colours matched, in frame order, to frame 0,
to the frame before it or to an image, so frames still depend only on the settings and their
index.

- ``first``: frame 0 is the reference and stays as rendered. It is rendered alone in its
  call (``alone_in_call``), so a render that lacks it (a resume, a Ray worker, a subset of
  frames) renders it again, alone, and gets the same reference.
- ``previous``: 2D motion only (validation refuses it elsewhere), where each frame is made from
  the one before anyway: the matched frame is what the next frame warps, and a resume warps the
  saved frame, so resumed frames are those of an uninterrupted render.
- ``image``: every frame, frame 0 too, is matched to the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from giffusion_nb.media.colour import match_colours
from giffusion_nb.media.image import load_image
from giffusion_nb.settings import FrozenSettings


class ColourCoherence:
    """One render's colour coherence (``coherence_of``: ``None`` when it is off)."""

    def __init__(self, mode: str, space: str, image: Image.Image | None = None) -> None:
        self.mode, self.space, self._image = mode, space, image
        self._first: Image.Image | None = None  # frame 0, once rendered

    def match(
        self, frame: int, image: Image.Image, previous: Image.Image | None, job: Any
    ) -> Image.Image:
        """Frame ``frame``'s picture matched to its reference: ``previous`` (the frame
        before, with 2D motion), frame 0 (rendered alone with ``job`` when this render has not
        made it yet) or the image."""
        if self.mode == "image":
            return match_colours(image, self._image, self.space)
        if frame == 0:
            if self.mode == "first":
                self._first = image
            return image
        if self.mode == "previous":
            if previous is None:
                raise ValueError("colour coherence with `previous` needs the frame before")
            return match_colours(image, previous, self.space)
        if self._first is None:
            self._first = frame_zero(job)
        return match_colours(image, self._first, self.space)


def coherence_of(settings: FrozenSettings) -> ColourCoherence | None:
    """The settings' colour coherence, its image loaded (``None`` when it is off)."""
    mode = settings.color_coherence
    if mode == "none":
        return None
    image = None
    if mode == "image":
        path = Path(settings.color_coherence_image).expanduser()
        image = load_image(path, field="color_coherence_image")
    return ColourCoherence(mode, settings.color_coherence_space, image)


def alone_in_call(settings: FrozenSettings, frame: int) -> bool:
    """True for frame 0 when it is the colour reference: it gets a call of its own."""
    return frame == 0 and settings.color_coherence == "first"


def frame_zero(job: Any) -> Image.Image:
    """Frame 0 as the render makes it, unmatched: alone in its call, or in its window (a video
    family's first window)."""
    if job.windows is not None:
        return job.denoise_window(job.windows[0])[0]
    init = job.init_of(0)
    return job.denoise([job.plan.steps[0]], None if init is None else [init])[0]
