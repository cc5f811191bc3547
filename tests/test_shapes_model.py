"""Tests for the shipped shapes model, builtin:shapes-sd: its files, and what it draws."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from giffusion_nb.pipelines.builtin import SHAPES_SD, SHIPPED, builtin_model_path
from giffusion_nb.shapes.classify import classify_shape, dominant_colour
from giffusion_nb.shapes.evaluate import TRAVEL, colour_track, render_samples, travel_frames


@pytest.fixture(scope="module")
def shapes_pipe():
    """``builtin:shapes-sd`` loaded on the CPU through the regular ``from_pretrained`` path."""
    from giffusion_nb.pipelines.load import load_pipeline

    return load_pipeline("builtin:shapes-sd", device="cpu")


def test_weights_ship_in_the_package_as_small_fp16_safetensors():
    folder = builtin_model_path("builtin:shapes-sd")
    assert folder == SHIPPED[SHAPES_SD] and (folder / "model_index.json").is_file()
    weights = sorted(folder.glob("*/*.safetensors"))
    assert {path.parent.name for path in weights} == {"unet", "vae", "text_encoder"}
    assert sum(path.stat().st_size for path in weights) < 30 * 2**20
    from safetensors import safe_open

    with safe_open(weights[0], "pt") as tensors:
        first = next(iter(tensors.keys()))
        assert str(tensors.get_tensor(first).dtype) == "torch.float16"


def test_a_missing_shipped_model_says_so(tmp_path, monkeypatch):
    from giffusion_nb.errors import SettingsError

    monkeypatch.setitem(SHIPPED, SHAPES_SD, tmp_path / "gone")
    with pytest.raises(SettingsError, match="`model_id`: builtin:shapes-sd is missing"):
        builtin_model_path("builtin:shapes-sd")


def test_it_draws_the_asked_colour_and_shape(shapes_pipe):
    prompts = [("a green square", "green", "square"), ("a yellow circle", "yellow", "circle")]
    images = render_samples(shapes_pipe, prompts, samples=2, steps=20, progress=False)
    for (_, colour, shape), pictures in zip(prompts, images, strict=True):
        assert [dominant_colour(picture) for picture in pictures] == [colour, colour]
        assert shape in [classify_shape(picture) for picture in pictures]


def test_travel_from_a_red_circle_to_a_blue_square(shapes_pipe):
    frames = travel_frames(shapes_pipe, "builtin:shapes-sd", TRAVEL, steps=20)
    assert len(frames) == 25
    first, last = (np.asarray(frames[i].convert("RGB"), np.float32) / 255 for i in (0, -1))
    assert dominant_colour(first) == "red" and dominant_colour(last) == "blue"
    red = colour_track(frames, "red")
    blue = colour_track(frames, "blue")
    assert red[0] > red[-1] + 0.05 and blue[-1] > blue[0] + 0.05
    # the red share falls across the travel: every group of five frames has no more red than
    # the one before (up to a small wiggle), and it tracks the frame index closely
    groups = [np.mean(red[start : start + 5]) for start in range(0, 25, 5)]
    assert all(later <= earlier + 0.01 for earlier, later in itertools.pairwise(groups))
    assert np.corrcoef(np.arange(len(red)), red)[0, 1] < -0.8
