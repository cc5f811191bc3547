"""Diffusion cadence without 2D motion: only every Nth frame (and the last) goes to the
pipeline, the frames between are optical-flow in-betweens of their diffused neighbours; the
same frames in any batch, arrival order or resume."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_resumes_alike, pixels, spy_calls
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.flow import flow_in_between
from giffusion_nb.render.flow_cadence import flow_cadenced_frames
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

PROMPTS = "0: a red circle\n9: a blue square"
CADENCE = {"prompts": PROMPTS, "diffusion_cadence": 3, "cadence_warp": "flow"}


def _disc(x: float) -> Image.Image:
    """A bright disc of radius 10 at column ``x`` on a dark ground, 48 px."""
    ys, xs = np.mgrid[0:48, 0:48]
    inside = (xs - x) ** 2 + (ys - 24) ** 2 < 100
    picture = np.where(inside[..., None], [240, 200, 40], [20, 30, 60]).astype(np.uint8)
    return Image.fromarray(picture, mode="RGB")


def _collect(order: list[int] | None = None, wanted=range(10), saved=None):
    """Frames of a 10-frame cadence-4 travel whose diffused frames are discs moving right;
    ``order``: the order the diffused frames arrive in (as Ray workers may send them)."""
    asked: list[list[int]] = []

    def diffuse(keys):
        asked.append(list(keys))
        for key in order or keys:
            if key in keys:
                yield key, _disc(14 + 1.5 * key)

    frames = list(flow_cadenced_frames(10, 4, list(wanted), diffuse, saved, "dis"))
    return frames, asked


def test_the_frames_between_are_flow_in_betweens_of_the_diffused_ones():
    frames, asked = _collect()
    assert asked == [[0, 4, 8, 9]]
    assert [index for index, _ in frames] == list(range(10))
    for index in (0, 4, 8, 9):
        assert np.array_equal(pixels(frames[index][1]), pixels(_disc(14 + 1.5 * index)))
    expected = flow_in_between(_disc(14), _disc(20), 0.25, "dis")
    assert np.array_equal(pixels(frames[1][1]), pixels(expected))
    # each in-between's disc lies where the motion puts it, 1.5 px a frame
    for index in (1, 2, 3, 5):
        bright = np.argwhere(pixels(frames[index][1])[..., 0] > 128)
        assert abs(bright[:, 1].mean() - (14 + 1.5 * index)) <= 0.5


def test_frames_come_out_in_order_whatever_order_the_diffused_ones_arrive_in():
    in_order, _ = _collect()
    shuffled, _ = _collect(order=[8, 0, 9, 4])
    assert [index for index, _ in shuffled] == list(range(10))
    for (_, a), (_, b) in zip(in_order, shuffled, strict=True):
        assert np.array_equal(pixels(a), pixels(b))


def test_a_resume_reads_the_diffused_frame_before_from_the_run_folder():
    whole, _ = _collect()
    read = []

    def saved(index):
        read.append(index)
        return whole[index][1] if index < 5 else None

    frames, asked = _collect(wanted=range(5, 10), saved=saved)
    assert asked == [[8, 9]] and 4 in read  # frame 4 read, not diffused again
    for index, picture in frames:
        assert np.array_equal(pixels(picture), pixels(whole[index][1]))


def test_a_travel_with_cadence_diffuses_every_third_frame(make_session, monkeypatch):
    plain = [f.image for f in make_session(prompts=PROMPTS).render_frames()]
    session = make_session(**CADENCE, batch_size=2)
    calls = spy_calls(monkeypatch, session.pipeline)
    frames = [f.image for f in session.render_frames()]
    assert sum(len(call["prompt_embeds"]) for call in calls) == 4  # frames 0, 3, 6 and 9
    assert len(frames) == 10
    for index in (0, 3, 6, 9):  # the diffused frames are the travel's own
        np.testing.assert_allclose(pixels(frames[index]), pixels(plain[index]), atol=1)
    assert np.abs(pixels(frames[4]) - pixels(plain[4])).mean() > 0.5  # made by flow
    batched = [f.image for f in make_session(**CADENCE, batch_size=4).render_frames()]
    for a, b in zip(frames, batched, strict=True):
        np.testing.assert_allclose(pixels(a), pixels(b), atol=1)


def test_a_travel_with_cadence_resumes_to_the_same_frames(make_session):
    run_dir = make_session(**CADENCE).render().parent
    # from an in-between: frame 3 is read back, 6 and 9 diffused
    assert_resumes_alike(make_session, run_dir, 10, 5)


def test_cadence_without_motion_needs_flow_in_betweens():
    settings = Settings(prompts=PROMPTS, diffusion_cadence=3)
    with pytest.raises(SettingsError, match=r"without 2D motion .* choose flow") as info:
        check_setting(settings, "diffusion_cadence")
    assert info.value.field == "cadence_warp"
    settings.update(cadence_warp="flow")
    check_setting(settings, "diffusion_cadence")
