"""2D motion: the direction of each warp, Deforum's composition, padding modes and schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from giffusion_nb.choices import PADDING_MODES
from giffusion_nb.errors import SettingsError
from giffusion_nb.media.motion import (
    MotionSchedule,
    MotionStep,
    check_padding_mode,
    motion_schedule,
    warp,
    warp_tensor,
)

WIDTH, HEIGHT = 64, 48  # not square, so rotation must mind the aspect ratio
CENTRE = (WIDTH / 2, HEIGHT / 2)


def _dot_image() -> Image.Image:
    """Black, with a white 2x2 square centred 13 px right and 1 px above the centre."""
    pixels = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    pixels[22:24, 44:46] = 255
    return Image.fromarray(pixels)


def _centroid(image: Image.Image) -> tuple[float, float]:
    """Brightness-weighted centre, in continuous coordinates (pixel i spans [i, i + 1])."""
    weights = np.asarray(image, dtype=np.float64).sum(axis=2)
    ys, xs = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]]
    total = weights.sum()
    return float((weights * (xs + 0.5)).sum() / total), float((weights * (ys + 0.5)).sum() / total)


def test_dot_starts_where_expected():
    assert _centroid(_dot_image()) == pytest.approx((CENTRE[0] + 13, CENTRE[1] - 1))


def test_translate_x_moves_right():
    assert _centroid(warp(_dot_image(), MotionStep(translate_x=5))) == pytest.approx(
        (CENTRE[0] + 13 + 5, CENTRE[1] - 1), abs=0.01
    )


def test_translate_y_moves_down():
    assert _centroid(warp(_dot_image(), MotionStep(translate_y=3))) == pytest.approx(
        (CENTRE[0] + 13, CENTRE[1] - 1 + 3), abs=0.01
    )


def test_positive_angle_turns_counter_clockwise_on_screen():
    # (13, -1) from the centre turned 90 degrees counter-clockwise (y down) is (-1, -13): above
    x, y = _centroid(warp(_dot_image(), MotionStep(angle=90)))
    assert (x, y) == pytest.approx((CENTRE[0] - 1, CENTRE[1] - 13), abs=0.01)


def test_zoom_doubles_the_distance_from_the_centre():
    x, y = _centroid(warp(_dot_image(), MotionStep(zoom=2)))
    assert (x, y) == pytest.approx((CENTRE[0] + 26, CENTRE[1] - 2), abs=0.25)


def test_zoom_below_one_moves_towards_the_centre():
    x, y = _centroid(warp(_dot_image(), MotionStep(zoom=0.5), padding_mode="zeros"))
    assert (x, y) == pytest.approx((CENTRE[0] + 6.5, CENTRE[1] - 0.5), abs=0.25)


def deforum_matrix(step: MotionStep, centre: tuple[float, float]) -> np.ndarray:
    """Deforum's 3x3 move, ``rot_mat @ trans_mat``, with ``cv2.getRotationMatrix2D``'s
    rotation written out (centre in cv2's coordinates: pixel i at i)."""
    a = step.zoom * math.cos(math.radians(step.angle))
    b = step.zoom * math.sin(math.radians(step.angle))
    cx, cy = centre
    rotation = np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy], [0, 0, 1]])
    translation = np.array([[1, 0, step.translate_x], [0, 1, step.translate_y], [0, 0, 1]])
    return rotation @ translation


def reference_warp(pixels: np.ndarray, xform: np.ndarray) -> np.ndarray:
    """``pixels`` (H, W, 3) moved by ``xform`` as ``cv2.warpPerspective`` does: each output
    pixel samples the input at ``xform^-1`` of its position, bilinearly, edges repeated."""
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    source = np.linalg.inv(xform) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    sx = np.clip(source[0] / source[2], 0, width - 1).reshape(height, width)
    sy = np.clip(source[1] / source[2], 0, height - 1).reshape(height, width)
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x1] * fx
    bottom = pixels[y1, x0] * (1 - fx) + pixels[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _pattern(width: int, height: int) -> np.ndarray:
    """Stripes, rings and a ramp in three channels: detail at every angle."""
    ys, xs = np.mgrid[0:height, 0:width] / max(width, height)
    red = 127.5 + 127.5 * np.sin(2 * math.pi * (3 * xs + 2 * ys))
    green = 127.5 + 127.5 * np.cos(2 * math.pi * 5 * np.hypot(xs - 0.3, ys - 0.4))
    blue = 255 * (xs + ys) / 2
    return np.dstack([red, green, blue]).round().astype(np.uint8)


@pytest.mark.parametrize(("width", "height"), [(64, 64), (96, 56)])
@pytest.mark.parametrize(
    "step",
    [
        MotionStep(zoom=1.05, angle=5, translate_x=4, translate_y=-3),
        MotionStep(zoom=0.9, angle=30, translate_x=10),
        MotionStep(zoom=1.2, angle=-60, translate_x=-2, translate_y=6),
    ],
)
def test_combined_motion_matches_deforums_matrix(width, height, step):
    pattern = _pattern(width, height)
    true_centre = ((width - 1) / 2, (height - 1) / 2)  # our centre, in cv2's coordinates
    expected = reference_warp(pattern.astype(np.float64), deforum_matrix(step, true_centre))
    ours = np.asarray(warp(Image.fromarray(pattern), step), dtype=np.float64)
    assert np.abs(ours - expected).mean() <= 1.0


def test_motion_over_frames_keeps_matching_deforum():
    # each frame warps the previous one, so an error in the composition would compound
    step = MotionStep(zoom=1.02, angle=3, translate_x=2, translate_y=-1)
    xform = deforum_matrix(step, ((96 - 1) / 2, (56 - 1) / 2))
    ours, expected = Image.fromarray(_pattern(96, 56)), _pattern(96, 56).astype(np.float64)
    for _frame in range(5):
        ours = warp(ours, step)
        expected = reference_warp(expected, xform).round()
    assert np.abs(np.asarray(ours, dtype=np.float64) - expected).mean() <= 1.0


def _centre_dot() -> Image.Image:
    """A 5x5 white dot at the centre of a 200x200 black image: at Deforum's centre (100, 100
    in cv2's coordinates), half a pixel right of and below ours (99.5, 99.5)."""
    pixels = np.zeros((200, 200, 3), dtype=np.uint8)
    pixels[98:103, 98:103] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize(
    ("step", "deforum", "ours"),
    [
        # the translation turns too; about our centre the dot's half-pixel offset turns with it
        (MotionStep(zoom=1, angle=90, translate_x=20), (0, -20), (0, -21)),
        (MotionStep(zoom=2, translate_x=10), (20, 0), (20.5, 0.5)),  # and is scaled
    ],
)
def test_translation_is_turned_and_scaled_as_in_deforum(step, deforum, ours):
    start = _centroid(_centre_dot())
    end = _centroid(warp(_centre_dot(), step, padding_mode="zeros"))
    moved = (end[0] - start[0], end[1] - start[1])
    assert moved == pytest.approx(ours, abs=0.05)
    assert moved == pytest.approx(deforum, abs=1 + 1e-6)


def test_still_step_returns_an_identical_copy():
    image = _dot_image()
    same = warp(image, MotionStep())
    assert same is not image
    assert same.tobytes() == image.tobytes()
    assert MotionStep().is_still()
    assert not MotionStep(angle=1).is_still()


def test_warp_returns_rgb_of_the_same_size():
    image = Image.new("RGBA", (30, 20), (10, 20, 30, 40))
    warped = warp(image, MotionStep(zoom=1.1, angle=3, translate_x=1.5))
    assert warped.mode == "RGB"
    assert warped.size == (30, 20)


def test_zeros_padding_leaves_black_corners_after_rotation():
    image = Image.new("RGB", (32, 32), (200, 100, 50))
    zeros = warp(image, MotionStep(angle=45), padding_mode="zeros")
    assert zeros.getpixel((0, 0)) == (0, 0, 0)
    assert zeros.getpixel((16, 16)) == (200, 100, 50)
    for mode in ("border", "reflection"):
        filled = warp(image, MotionStep(angle=45), padding_mode=mode)
        assert set(filled.getdata()) == {(200, 100, 50)}


def test_border_repeats_the_edge_and_reflection_mirrors():
    ramp = np.repeat(np.arange(32, dtype=np.uint8)[None, :, None] * 4, 3, axis=2)
    image = Image.fromarray(np.repeat(ramp, 8, axis=0))  # column x has value 4 * x
    step = MotionStep(translate_x=10)
    border = np.asarray(warp(image, step, padding_mode="border"))[0, :, 0]
    reflection = np.asarray(warp(image, step, padding_mode="reflection"))[0, :, 0]
    zeros = np.asarray(warp(image, step, padding_mode="zeros"))[0, :, 0]
    assert list(border[:10]) == [0] * 10
    assert list(reflection[:10]) == [4 * (9 - x) for x in range(10)]
    assert list(zeros[:10]) == [0] * 10
    for row in (border, reflection, zeros):
        assert list(row[10:]) == [4 * x for x in range(22)]


def test_warp_tensor_keeps_batch_and_any_range():
    images = torch.zeros(2, 4, 16, 16)
    images[0, :, 4, 4] = -1.0
    images[1, :, 8, 2] = 3.0
    moved = warp_tensor(images, MotionStep(translate_x=2, translate_y=1), padding_mode="zeros")
    assert moved.shape == images.shape
    assert moved[0, :, 5, 6].tolist() == pytest.approx([-1.0] * 4, abs=1e-5)
    assert moved[1, :, 9, 4].tolist() == pytest.approx([3.0] * 4, abs=1e-5)
    still = warp_tensor(images, MotionStep())
    assert torch.equal(still, images)
    assert still is not images


def test_warp_tensor_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="B, C, H, W"):
        warp_tensor(torch.zeros(3, 8, 8), MotionStep(zoom=1.1))
    with pytest.raises(ValueError, match="float"):
        warp_tensor(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), MotionStep(zoom=1.1))


def test_padding_mode_is_checked():
    for mode in PADDING_MODES:
        check_padding_mode(mode)
    with pytest.raises(SettingsError, match="'border'") as info:
        warp(_dot_image(), MotionStep(), padding_mode="wrap")
    assert info.value.field == "padding_mode"
    assert "'wrap'" in str(info.value)


def test_motion_schedule_parses_each_field():
    schedule = motion_schedule(
        10, zoom="0: (1.0), 9: (1.09)", angle="0: (t)", translate_x="", translate_y="2"
    )
    assert isinstance(schedule, MotionSchedule)
    assert schedule.zoom == pytest.approx([1.0 + 0.01 * frame for frame in range(10)])
    assert list(schedule.angle) == list(range(10))
    assert list(schedule.translate_x) == [0.0] * 10
    assert list(schedule.translate_y) == [2.0] * 10
    assert schedule.step(3) == MotionStep(zoom=pytest.approx(1.03), angle=3, translate_y=2)
    assert schedule.is_active()
    with pytest.raises(IndexError):
        schedule.step(10)
    with pytest.raises(ValueError):
        schedule.zoom[0] = 5.0  # read-only


def test_empty_schedule_is_still():
    schedule = motion_schedule(4, zoom=" ", angle="")
    assert not schedule.is_active()
    assert schedule.step(2).is_still()
    assert not motion_schedule(4, zoom="1", angle="0: (0)").is_active()


@pytest.mark.parametrize(
    ("text", "frame"), [("0", 0), ("0: (1), 4: (-1)", 2), ("0: (1), 3: (1 - t / 3)", 3)]
)
def test_zoom_must_be_positive(text, frame):
    with pytest.raises(SettingsError, match=f"frame {frame} has zoom") as info:
        motion_schedule(6, zoom=text)
    assert info.value.field == "zoom"
    assert "> 0" in str(info.value)


def test_bad_key_frames_name_their_field():
    with pytest.raises(SettingsError) as info:
        motion_schedule(5, translate_y="0: (1")
    assert info.value.field == "translate_y"
