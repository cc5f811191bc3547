"""Diffusion cadence: every Nth frame diffused along the 2D motion, the frames between warped
from both neighbours and blended; the same frames on resume; motion as one matrix."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_resumes_alike, gradient, pixels, spy_calls
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.motion import MotionStep, warp
from giffusion_nb.media.motion_path import path_matrix, step_matrix, warp_by_matrix
from giffusion_nb.render.cadence import diffused_frames
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

PROMPTS = "0: a red circle\n9: a blue square"
MOVE = {"translate_x": "0: (4)", "strength": 0.6}


def test_the_diffused_frames_are_every_nth_and_the_last():
    assert diffused_frames(48, 4) == [*range(0, 48, 4), 47]  # 13: 12 and the last frame
    assert diffused_frames(9, 4) == [0, 4, 8]
    assert diffused_frames(5, 1) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "step",
    [MotionStep(zoom=1.1, translate_x=4), MotionStep(angle=30), MotionStep(0.9, -20, 3, -5)],
)
def test_a_step_as_a_matrix_warps_as_motion_does(step):
    picture = gradient(2).resize((96, 64))
    by_matrix = warp_by_matrix(picture, step_matrix(step, 96, 64))
    np.testing.assert_allclose(pixels(by_matrix), pixels(warp(picture, step)), atol=1.0)


def test_a_path_and_its_inverse_come_back():
    picture, step = gradient(4), MotionStep(1.05, 10, 2, -1)
    path = path_matrix([step, step, step], 64, 64)
    there = warp_by_matrix(picture, path)
    back = warp_by_matrix(there, np.linalg.inv(path))
    inner = np.s_[16:-16, 16:-16]
    assert np.abs(pixels(back)[inner] - pixels(picture)[inner]).mean() < 2.0


def _shifted(picture: Image.Image, pixels_right: float) -> np.ndarray:
    return pixels(warp(picture, MotionStep(translate_x=pixels_right)))


def test_cadence_diffuses_every_nth_frame_and_blends_the_frames_between(make_session, monkeypatch):
    session = make_session(prompts=PROMPTS, diffusion_cadence=4, **MOVE)
    text_calls = spy_calls(monkeypatch, session.pipeline)
    image_calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    frames = [frame.image for frame in session.render_frames()]
    assert len(frames) == 10
    assert len(text_calls) == 1 and len(image_calls) == 3  # frame 0, then frames 4, 8 and 9
    # frame 4 is diffused from frame 0 moved 4 frames of 4 px
    np.testing.assert_allclose(
        pixels(image_calls[0]["image"][0]), _shifted(frames[0], 16), atol=1.0
    )
    # frame 1: frame 0 moved 4 px (weight 3/4) and frame 4 moved back 12 px (weight 1/4)
    expected = 0.75 * _shifted(frames[0], 4) + 0.25 * _shifted(frames[4], -12)
    inner = np.s_[:, 16:-16]  # away from the borders each shift fills in
    np.testing.assert_allclose(pixels(frames[1])[inner], expected[inner], atol=1.5)
    # the last frame is diffused from frame 8, one frame on
    np.testing.assert_allclose(pixels(image_calls[2]["image"][0]), _shifted(frames[8], 4), atol=1.0)


def test_a_cadenced_render_resumes_to_the_same_frames(make_session):
    settings = {"prompts": PROMPTS, "diffusion_cadence": 4, **MOVE}
    run_dir = make_session(**settings).render().parent
    for first in (6, 4):  # from an in-between frame, then from a diffused one
        assert_resumes_alike(make_session, run_dir, 10, first)


def test_flow_in_betweens_use_the_same_diffused_frames(make_session, monkeypatch):
    motion = [
        f.image for f in make_session(prompts=PROMPTS, diffusion_cadence=3, **MOVE).render_frames()
    ]
    session = make_session(prompts=PROMPTS, diffusion_cadence=3, cadence_warp="flow", **MOVE)
    calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    flow = [f.image for f in session.render_frames()]
    assert len(calls) == 3  # frames 3, 6 and 9
    for index in (0, 3, 6, 9):
        assert np.array_equal(pixels(flow[index]), pixels(motion[index]))
    assert not np.array_equal(pixels(flow[1]), pixels(motion[1]))


def test_cadence_settings_errors_name_the_field():
    settings = Settings(prompts=PROMPTS, diffusion_cadence=3)
    with pytest.raises(SettingsError, match="no frame moves") as info:
        check_setting(settings, "diffusion_cadence")
    assert info.value.field == "cadence_warp"
    settings.update(zoom="0: (1.02)")
    check_setting(settings, "diffusion_cadence")
    settings.update(diffusion_cadence=0)
    with pytest.raises(SettingsError, match="between 1 and 100"):
        check_setting(settings, "diffusion_cadence")
    with pytest.raises(SettingsError, match="expected one of motion, flow"):
        Settings(cadence_warp="optical")


def test_cadence_with_colour_coherence_resumes_to_the_same_frames(make_session):
    settings = {"prompts": PROMPTS, "diffusion_cadence": 3, "color_coherence": "first", **MOVE}
    run_dir = make_session(**settings).render().parent
    # from frame 5: frame 0, the colour reference, is rendered again
    reference = assert_resumes_alike(make_session, run_dir, 10, 5)
    plain = [
        f.image for f in make_session(prompts=PROMPTS, diffusion_cadence=3, **MOVE).render_frames()
    ]
    assert not np.array_equal(reference[3], pixels(plain[3]))  # frame 3 was matched
