"""The perspective flip: its homography (the identity at 0, Deforum's signs and field of view
about the true centre), warps that move a picture as the matrix says, the checks of its
settings, and renders, cadences and the camera path that take it."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest
import torch
from helpers import assert_resumes_alike, gradient, pixels, spy_calls, write_clicks
from PIL import Image

from giffusion_nb.cli import build_parser, settings_from_args
from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio_features import settings_features
from giffusion_nb.media.camera_path import camera_path
from giffusion_nb.media.motion import (
    MotionStep,
    motion_schedule,
    settings_motion,
    warp,
    warp_tensor,
)
from giffusion_nb.media.motion_path import path_matrix, step_matrix, warp_by_matrix
from giffusion_nb.media.perspective import perspective_matrix
from giffusion_nb.settings import Settings
from giffusion_nb.ui.layout import section_of
from giffusion_nb.validation import check_setting

WIDTH, HEIGHT = 96, 64


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) through the 3x3 forward map ``matrix``."""
    moved = matrix @ np.vstack([points.T, np.ones(len(points))])
    return (moved[:2] / moved[2]).T


def _turn(axis: str, degrees: float) -> np.ndarray:
    """A 4x4 turn about ``axis`` as Deforum's ``getRotationMatrixManual`` writes it."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    turn = np.eye(4)
    turn[i, i] = turn[j, j] = c
    turn[i, j], turn[j, i] = -s, s
    return turn


def deforum_flip(width: int, height: int, theta: float, phi: float, gamma: float, fv: float):
    """Deforum's ``flip_2d_perspective`` matrix, written out: the frame's corners through its
    OpenGL-style projection ``P T R``, fitted by cv2, then ``M @ post_trans_mat``. Returns the
    matrix and the side length s of its square (its pivot is (s/2, s/2))."""
    half = math.radians(fv) / 2
    diagonal = math.hypot(width, height)
    side = diagonal / math.cos(half)
    distance = diagonal / (2 * math.sin(half))
    near, far = distance - diagonal / 2, distance + diagonal / 2
    shift = np.eye(4)
    shift[2, 3] = -distance
    projection = np.zeros((4, 4))
    projection[0, 0] = projection[1, 1] = 1 / math.tan(half)
    projection[2, 2], projection[2, 3] = (
        -(far + near) / (far - near),
        -2 * far * near / (far - near),
    )
    projection[3, 2] = -1.0
    turned = _turn("x", phi) @ _turn("y", gamma) @ _turn("z", theta)
    extent = np.array([width / 2, height / 2, 0])
    corners = np.array([[-1, 1, 0], [1, 1, 0], [1, -1, 0], [-1, -1, 0]]) * extent
    seen = cv2.perspectiveTransform(corners[None], projection @ shift @ turned)[0]
    source = (corners[:, :2] + [width / 2, height / 2]).astype(np.float32)
    target = ((seen[:, :2] + 1) * side / 2).astype(np.float32)
    fitted = cv2.getPerspectiveTransform(source, target)
    post = np.array([[1, 0, (width - side) / 2], [0, 1, (height - side) / 2], [0, 0, 1]])
    return fitted @ post, side


def _shift(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


# --- the homography ---------------------------------------------------------------------------


def test_no_angle_is_the_identity_and_the_affine_step_unchanged():
    for fv in (10, 53, 170):
        np.testing.assert_allclose(perspective_matrix(0, 0, 0, fv, WIDTH, HEIGHT), np.eye(3))
    plain = MotionStep(1.05, 5, 3, -2)
    flat = MotionStep(1.05, 5, 3, -2, fv=90)  # a field of view without an angle: no flip
    assert not flat.has_perspective() and MotionStep(phi=1).has_perspective()
    assert np.array_equal(step_matrix(flat, WIDTH, HEIGHT), step_matrix(plain, WIDTH, HEIGHT))
    picture = gradient(3).resize((WIDTH, HEIGHT))
    assert warp(picture, flat).tobytes() == warp(picture, plain).tobytes()


def test_theta_turns_the_picture_clockwise_as_angle_minus_theta():
    flip = step_matrix(MotionStep(theta=90), WIDTH, HEIGHT)
    np.testing.assert_allclose(flip, step_matrix(MotionStep(angle=-90), WIDTH, HEIGHT), atol=1e-12)
    picture = gradient(1)  # square, so a quarter turn keeps every pixel
    turned = pixels(warp(picture, MotionStep(theta=90)))
    np.testing.assert_allclose(turned, np.rot90(pixels(picture), k=-1), atol=1)  # clockwise


@pytest.mark.parametrize(("angle", "near", "far"), [(10, "left", "right"), (-10, "right", "left")])
def test_gamma_keeps_the_centre_and_makes_one_side_taller(angle, near, far):
    """gamma > 0 takes the right edge away from the camera (shorter) and brings the left nearer."""
    matrix = perspective_matrix(0, 0, angle, 53, WIDTH, HEIGHT)
    np.testing.assert_allclose(_apply(matrix, np.array([[WIDTH / 2, HEIGHT / 2]])), [[48, 32]])
    edges = {"left": 0.0, "right": float(WIDTH)}
    heights = {
        side: np.ptp(_apply(matrix, np.array([[x, 0.0], [x, HEIGHT]]))[:, 1])
        for side, x in edges.items()
    }
    assert heights[near] > HEIGHT > heights[far]


def test_phi_brings_the_bottom_edge_nearer():
    matrix = perspective_matrix(0, 12, 0, 53, WIDTH, HEIGHT)
    top = np.ptp(_apply(matrix, np.array([[0.0, 0.0], [WIDTH, 0.0]]))[:, 0])
    bottom = np.ptp(_apply(matrix, np.array([[0.0, HEIGHT], [WIDTH, HEIGHT]]))[:, 0])
    assert bottom > WIDTH > top


@pytest.mark.parametrize(
    ("theta", "phi", "gamma", "fv"),
    [(0, 15, 0, 53), (0, 0, -20, 53), (7, 10, 5, 40), (-30, -12, 25, 120), (3, 40, -35, 20)],
)
def test_deforums_signs_axes_and_field_of_view_about_the_true_centre(theta, phi, gamma, fv):
    """Deforum's matrix turns about (s/2, s/2); moved to turn about the centre it is ours."""
    theirs, side = deforum_flip(WIDTH, HEIGHT, theta, phi, gamma, fv)
    offset = (side - WIDTH) / 2, (side - HEIGHT) / 2
    about_centre = _shift(-offset[0], -offset[1]) @ theirs @ _shift(*offset)
    ours = perspective_matrix(theta, phi, gamma, fv, WIDTH, HEIGHT)
    grid = np.stack(np.meshgrid(np.linspace(0, WIDTH, 5), np.linspace(0, HEIGHT, 5)), -1)
    points = grid.reshape(-1, 2)
    np.testing.assert_allclose(_apply(ours, points), _apply(about_centre, points), atol=0.02)


def test_the_flip_comes_after_the_frames_move():
    step = MotionStep(zoom=1.1, angle=8, translate_x=5, translate_y=-3, theta=4, phi=9, gamma=-6)
    flip = perspective_matrix(4, 9, -6, 53, WIDTH, HEIGHT)
    move = step_matrix(MotionStep(zoom=1.1, angle=8, translate_x=5, translate_y=-3), WIDTH, HEIGHT)
    np.testing.assert_allclose(step_matrix(step, WIDTH, HEIGHT), flip @ move)


# --- warps ------------------------------------------------------------------------------------


def _dot(x: int, y: int) -> Image.Image:
    picture = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    picture[y : y + 2, x : x + 2] = 255
    return Image.fromarray(picture)


def _centroid(image: Image.Image) -> np.ndarray:
    weights = pixels(image).sum(axis=2)
    ys, xs = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]] + 0.5
    return np.array([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()


@pytest.mark.parametrize("corner", [(20, 14), (70, 46), (14, 50)])
def test_a_warp_moves_a_dot_where_the_matrix_sends_it(corner):
    step = MotionStep(zoom=1.02, translate_x=2, theta=5, phi=14, gamma=-11, fv=70)
    picture = _dot(*corner)
    moved = warp(picture, step, padding_mode="zeros")
    expected = _apply(step_matrix(step, WIDTH, HEIGHT), _centroid(picture)[None])[0]
    np.testing.assert_allclose(_centroid(moved), expected, atol=0.15)
    batch = torch.from_numpy(pixels(picture)).permute(2, 0, 1)[None]
    as_tensor = warp_tensor(batch, step, padding_mode="zeros")[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(as_tensor, pixels(moved), atol=0.5)  # the same map, unrounded


def test_pixels_beyond_the_horizon_are_padding_not_a_mirrored_picture():
    """The map whose inverse is ``(x, y, 1 + y / 8)`` about the centre: output rows above
    y = -8 (from the centre) lie beyond the picture's horizon, where the inverse's division
    would land on a mirrored copy of the picture; they show the padding instead."""
    inverse = np.array([[1, 0, 0], [0, 1, 0], [0, 1 / 8, 1]])
    matrix = _shift(32, 32) @ np.linalg.inv(inverse) @ _shift(-32, -32)
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    out = pixels(warp_by_matrix(white, matrix, padding_mode="zeros"))
    assert out[:24].max() == 0  # beyond the horizon
    assert out[32:].min() == 255  # the picture, stretched


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strings", "field", "words"),
    [
        ({"perspective_flip_phi": "0: (0), 4: (100)"}, "perspective_flip_phi", "frame 4 turns"),
        ({"perspective_flip_gamma": "-90"}, "perspective_flip_gamma", "between -90 and 90"),
        ({"perspective_flip_phi": "270"}, "perspective_flip_phi", "edge-on"),
        ({"perspective_flip_fv": "0: (53), 5: (180)"}, "perspective_flip_fv", "frame 5 has"),
        ({"perspective_flip_fv": "0"}, "perspective_flip_fv", "more than 0"),
        ({"perspective_flip_theta": "0: (tilt)"}, "perspective_flip_theta", "unknown name"),
    ],
)
def test_out_of_range_values_name_the_field_and_frame(strings, field, words):
    with pytest.raises(SettingsError, match=words) as info:
        motion_schedule(6, **strings)
    assert info.value.field == field
    with pytest.raises(SettingsError, match=words) as info:
        check_setting(Settings(prompts="0: a\n5: b", **strings), field)
    assert info.value.field == field


def test_whole_turns_and_any_roll_are_fine():
    schedule = motion_schedule(
        3, perspective_flip_phi="360", perspective_flip_theta="0: (0), 2: (540)"
    )
    assert schedule.has_perspective() and schedule.step(1).theta == 270
    assert schedule.step(0).fv == 53  # Deforum's default field of view


def test_audio_features_drive_the_flip(tmp_path):
    clicks = write_clicks(tmp_path / "clicks.wav", [0.3, 0.7], 1.0)
    settings = Settings(
        prompts="0: a\n9: b", audio_input=str(clicks), fps=10, perspective_flip_phi="0: (20*onset)"
    )
    schedule = settings_motion(settings, 10, settings_features(settings))
    assert np.flatnonzero(schedule.phi).tolist() == [3, 7]
    assert schedule.is_active() and schedule.step(3).has_perspective()


def test_a_field_of_view_without_an_angle_is_an_error():
    settings = Settings(prompts="0: a\n5: b", perspective_flip_fv="60")
    with pytest.raises(SettingsError, match="no angle of it is set") as info:
        check_setting(settings, "perspective_flip_fv")
    assert info.value.field == "perspective_flip_fv"
    settings.perspective_flip_gamma = "0: (2)"
    check_setting(settings, "perspective_flip_fv")
    check_setting(settings, "diffusion_cadence")  # a flip alone is 2D motion
    assert not motion_schedule(4, perspective_flip_phi="0: (0)").is_active()


def test_the_command_line_sets_the_flip_as_text():
    args = build_parser().parse_args(
        ["render", "--set", "perspective_flip_phi=5", "--set", "perspective_flip_fv=0: (40)"]
    )
    settings = settings_from_args(args)
    assert (settings.perspective_flip_phi, settings.perspective_flip_fv) == ("5", "0: (40)")


# --- renders ----------------------------------------------------------------------------------

PROMPTS = "0: a red circle\n5: a blue square"
MOVE = {"translate_x": "0: (2)", "strength": 0.6}
FLIP = {"perspective_flip_phi": "0: (0), 3: (0), 4: (12)", "perspective_flip_gamma": "0: (-5)"}


def test_a_flip_key_frame_changes_only_the_frames_from_it_on(make_session):
    plain = [f.image for f in make_session(prompts=PROMPTS, **MOVE).render_frames()]
    tilted = [
        f.image
        for f in make_session(
            prompts=PROMPTS, **MOVE, perspective_flip_phi="0: (0), 3: (0), 4: (12)"
        ).render_frames()
    ]
    for index in range(4):
        assert np.array_equal(pixels(tilted[index]), pixels(plain[index])), index
    for index in (4, 5):
        assert not np.array_equal(pixels(tilted[index]), pixels(plain[index])), index


def test_a_flipped_render_resumes_to_the_same_frames(make_session):
    run_dir = make_session(prompts=PROMPTS, **MOVE, **FLIP).render().parent
    assert_resumes_alike(make_session, run_dir, 6, 3)


def test_a_cadence_warps_along_the_flip(make_session, monkeypatch):
    session = make_session(prompts=PROMPTS, diffusion_cadence=3, **MOVE, **FLIP)
    calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    frames = [f.image for f in session.render_frames()]
    steps = [session.spec().motion.step(frame) for frame in (1, 2, 3)]
    along = warp_by_matrix(frames[0], path_matrix(steps, 64, 64))
    np.testing.assert_allclose(pixels(calls[0]["image"][0]), pixels(along), atol=1.0)


def test_the_camera_path_turns_the_picture_away():
    """gamma 10 a frame: the right side recedes, more at every frame (the flips compose), so
    black shows above and below it, while the left side, nearer, still fills its column."""
    card = Image.new("RGB", (128, 128), (255, 255, 255))
    schedule = motion_schedule(4, perspective_flip_gamma="0: (10)")
    frames = [pixels(f) for f in camera_path(card, schedule, 128, padding_mode="zeros")]
    assert frames[0].min() == 255
    for earlier, later in itertools.pairwise(frames):
        assert (later[:, 4, 0] > 128).sum() == 128
        assert (later[:, 100, 0] > 128).sum() < (earlier[:, 100, 0] > 128).sum()


def test_the_panel_fields_sit_with_the_motion_and_report_their_errors(panel):
    assert section_of("perspective_flip_phi") == section_of("zoom") == "Animation settings"
    field = panel.fields["perspective_flip_phi"]
    field.widget.value = "0: (0), 3: (120)"
    assert panel.session.settings.perspective_flip_phi == "0: (0), 3: (120)"
    assert "frame 3 turns the picture 120 degrees" in field.error.value
