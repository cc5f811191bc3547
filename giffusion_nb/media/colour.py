"""Colour matching: a picture's colour histograms matched to a reference's, channel by channel
in LAB, HSV or RGB (scikit-image's ``match_histograms``), and the mean LAB colour that
measures drift."""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image
from skimage.color import hsv2rgb, lab2rgb, rgb2hsv, rgb2lab
from skimage.exposure import match_histograms

from giffusion_nb.choices import COLOR_SPACES

# Into a space and back; None: match the RGB channels as they are.
_SPACES = {"lab": (rgb2lab, lab2rgb), "hsv": (rgb2hsv, hsv2rgb), "rgb": None}


def match_colours(image: Image.Image, reference: Image.Image, space: str = "lab") -> Image.Image:
    """``image`` with each channel's histogram in ``space`` matched to ``reference``'s (the
    two may differ in size), as an RGB image of ``image``'s size."""
    if space not in COLOR_SPACES:
        raise ValueError(f"expected a colour space of {COLOR_SPACES}, got {space!r}")
    source = np.asarray(image.convert("RGB"))
    target = np.asarray(reference.convert("RGB"))
    conversion = _SPACES[space]
    if conversion is None:
        matched = match_histograms(source, target, channel_axis=-1).astype(np.float64)
    else:
        into, back = conversion
        with warnings.catch_warnings():  # lab2rgb warns when it clips out-of-gamut colours
            warnings.simplefilter("ignore")
            matched = back(match_histograms(into(source), into(target), channel_axis=-1)) * 255
    return Image.fromarray(np.clip(np.rint(matched), 0, 255).astype(np.uint8), mode="RGB")


def mean_lab(image: Image.Image) -> np.ndarray:
    """The mean L*, a*, b* of a picture."""
    return rgb2lab(np.asarray(image.convert("RGB"))).reshape(-1, 3).mean(axis=0)
