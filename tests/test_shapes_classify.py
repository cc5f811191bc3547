"""Tests for naming the colour and shape of a picture (giffusion_nb.shapes.classify)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from giffusion_nb.shapes.classify import (
    background_colour,
    classify_shape,
    colour_shares,
    dominant_colour,
    foreground_mask,
    shape_features,
)
from giffusion_nb.shapes.dataset import BACKGROUNDS, COLOURS, SHAPES, draw, sample_batch


def _pixels(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` in [0, 1] -> uint8 ``(B, H, W, 3)``, as a saved picture would be."""
    return (images * 255).round().byte().permute(0, 2, 3, 1).numpy()


def _accuracy(pictures: np.ndarray, colours: list[str], shapes: list[str]) -> tuple[float, float]:
    colour_hits = sum(dominant_colour(p) == c for p, c in zip(pictures, colours, strict=True))
    shape_hits = sum(classify_shape(p) == s for p, s in zip(pictures, shapes, strict=True))
    return colour_hits / len(pictures), shape_hits / len(pictures)


def _shape(name: str, colour: str, background: str, radius: float = 16.0) -> np.ndarray:
    """One picture of ``name`` in the middle of a 64 px picture."""
    images = draw(
        torch.tensor([SHAPES.index(name)]),
        torch.tensor([COLOURS[colour]], dtype=torch.float32) / 255,
        torch.tensor([radius]),
        torch.tensor([[32.0, 32.0]]),
        torch.tensor([BACKGROUNDS[background]], dtype=torch.float32) / 255,
        image_size=64,
    )
    return _pixels(images)[0]


# --- the dataset's own pictures ----------------------------------------------------------------


def test_dataset_pictures_are_named_right():
    batch = sample_batch(600, torch.Generator().manual_seed(0))
    colour_accuracy, shape_accuracy = _accuracy(_pixels(batch.images), batch.colours, batch.shapes)
    assert colour_accuracy >= 0.99
    assert shape_accuracy >= 0.97


def test_blurred_noisy_pictures_are_still_named_right():
    batch = sample_batch(300, torch.Generator().manual_seed(1))
    blurred = F.interpolate(F.avg_pool2d(batch.images, 2), scale_factor=2, mode="bilinear")
    noise = 0.04 * torch.randn(blurred.shape, generator=torch.Generator().manual_seed(2))
    pictures = (blurred + noise).clamp(0, 1).permute(0, 2, 3, 1).numpy()  # float input
    colour_accuracy, shape_accuracy = _accuracy(pictures, batch.colours, batch.shapes)
    assert colour_accuracy >= 0.98
    assert shape_accuracy >= 0.90


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_is_named_on_each_background(name):
    for background in BACKGROUNDS:
        assert classify_shape(_shape(name, "purple", background)) == name, background
        assert classify_shape(_shape(name, "yellow", background, radius=9.0)) == name, background


# --- colours -----------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", COLOURS)
def test_each_named_colour_is_found_on_each_background(colour):
    for background in BACKGROUNDS:
        pixels = _shape("circle", colour, background)
        assert dominant_colour(pixels) == colour, background
        assert dominant_colour(pixels.astype(np.float32) / 255) == colour, background


def test_a_plain_picture_has_no_foreground_colour_or_shape():
    for rgb in [*BACKGROUNDS.values(), COLOURS["red"]]:
        pixels = np.full((64, 64, 3), rgb, dtype=np.uint8)
        assert not foreground_mask(pixels).any()
        assert dominant_colour(pixels) is None
        assert classify_shape(pixels) is None


def test_shares_of_a_red_picture_are_red_and_a_gray_one_has_none():
    red = colour_shares(np.full((64, 64, 3), COLOURS["red"], dtype=np.uint8))
    assert red["red"] == 1.0
    assert sum(red.values()) == 1.0
    gray = colour_shares(np.full((64, 64, 3), 128, dtype=np.uint8))
    assert set(gray) == set(COLOURS)
    assert sum(gray.values()) == 0.0


def test_shares_count_the_shape_and_sum_to_at_most_one():
    pixels = _shape("square", "blue", "white", radius=16.0)
    shares = colour_shares(pixels)
    side = round(2 * 0.85 * 16)  # the square's side in pixels
    assert shares["blue"] == pytest.approx(side**2 / 64**2, rel=0.1)
    assert sum(shares.values()) <= 1.0
    assert max(shares, key=shares.get) == "blue"


def test_half_red_half_blue_splits_the_shares():
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, :32] = COLOURS["red"]
    pixels[:, 32:] = COLOURS["blue"]
    shares = colour_shares(pixels)
    assert shares["red"] == shares["blue"] == 0.5


# --- background, mask and features -------------------------------------------------------------


def test_background_is_the_median_of_the_border():
    pixels = _shape("circle", "green", "gray")
    assert background_colour(pixels) == pytest.approx([128 / 255] * 3)
    pixels[0, :5] = 255  # a few odd border pixels do not move the median
    assert background_colour(pixels) == pytest.approx([128 / 255] * 3)


def test_the_mask_keeps_the_largest_blob_only():
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[10:30, 10:30] = COLOURS["green"]
    pixels[45:50, 45:50] = COLOURS["green"]
    mask = foreground_mask(pixels)
    assert mask.sum() == 20 * 20
    assert mask[10:30, 10:30].all()


def test_features_of_a_square_and_a_ring():
    square = np.zeros((64, 64), dtype=bool)
    square[8:28, 30:50] = True
    features = shape_features(square)
    assert features["hole"] == 0.0
    assert features["solidity"] == pytest.approx(1.0)
    assert features["fill"] == 1.0
    y, x = np.mgrid[:64, :64] + 0.5
    radius = np.hypot(x - 32, y - 32)
    ring = (radius < 20) & (radius > 9)
    features = shape_features(ring)
    assert features["hole"] == pytest.approx(9**2 / 20**2, rel=0.1)
    assert features["fill"] == pytest.approx(np.pi / 4, rel=0.05)
    assert features["solidity"] > 0.9
