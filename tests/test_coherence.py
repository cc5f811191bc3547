"""Colour coherence: histograms matched in LAB/HSV/RGB, frame 0 or the frame before or an image
as reference, frames the same at any batch size, for any subset and on resume."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_resumes_alike, gradient, pixels, spy_calls
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.colour import match_colours, mean_lab
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

PROMPTS = "0: a red circle\n5: a blue square"


def _tinted(image: Image.Image, scale: tuple[float, float, float]) -> Image.Image:
    return Image.fromarray((pixels(image) * np.array(scale)).clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("space", ["lab", "hsv", "rgb"])
def test_matching_brings_a_tinted_picture_back_to_the_reference_colours(space):
    reference = gradient(3)
    tinted = _tinted(reference, (0.6, 0.9, 1.0))  # drifted towards blue and darker
    before = np.abs(mean_lab(tinted) - mean_lab(reference)).max()
    matched = match_colours(tinted, reference, space)
    after = np.abs(mean_lab(matched) - mean_lab(reference)).max()
    assert matched.size == reference.size and before > 10
    assert after < 0.25 * before, (space, before, after)  # HSV: 0.19, LAB and RGB: < 0.01


def test_matching_a_picture_to_itself_changes_nothing_and_spaces_are_checked():
    picture = gradient(5)
    assert np.array_equal(pixels(match_colours(picture, picture, "rgb")), pixels(picture))
    with pytest.raises(ValueError, match="colour space"):
        match_colours(picture, picture, "cmyk")


def _frames(session, frames=None) -> dict[int, np.ndarray]:
    return {f.index: pixels(f.image) for f in session.render_frames(frames)}


def test_first_matches_every_frame_to_frame_zero_at_any_batch_size(make_session, monkeypatch):
    raw = {f.index: f.image for f in make_session(prompts=PROMPTS).render_frames()}
    session = make_session(prompts=PROMPTS, color_coherence="first", batch_size=4)
    calls = spy_calls(monkeypatch, session.pipeline)
    matched = _frames(session)
    assert [len(call["latents"]) for call in calls] == [1, 4, 1]  # frame 0 alone: the reference
    assert np.array_equal(matched[0], pixels(raw[0]))  # the reference stays as rendered
    for index in range(1, 6):
        expected = pixels(match_colours(raw[index], raw[0], "lab"))
        np.testing.assert_allclose(matched[index], expected, atol=2.0)
        assert not np.array_equal(matched[index], pixels(raw[index]))
    # a frame rendered alone renders its reference too, and comes out the same
    alone = _frames(make_session(prompts=PROMPTS, color_coherence="first"), [3])
    np.testing.assert_allclose(alone[3], matched[3], atol=2.0)


def test_image_matches_every_frame_to_the_image(make_session, tmp_path):
    path = tmp_path / "warm.png"
    _tinted(gradient(1), (1.0, 0.5, 0.2)).save(path)
    raw = _frames(make_session(prompts=PROMPTS))
    matched = _frames(
        make_session(
            prompts=PROMPTS,
            color_coherence="image",
            color_coherence_image=str(path),
            color_coherence_space="rgb",
        )
    )
    target = mean_lab(Image.open(path))
    for index in range(6):
        before = np.abs(mean_lab(Image.fromarray(raw[index].astype(np.uint8))) - target).max()
        after = np.abs(mean_lab(Image.fromarray(matched[index].astype(np.uint8))) - target).max()
        assert after < 0.2 * before, (index, before, after)


def test_previous_with_motion_feeds_the_matched_frame_forward_and_resumes(make_session):
    settings = {
        "prompts": PROMPTS,
        "zoom": "0: (1.05)",
        "color_coherence": "previous",
        "color_coherence_space": "hsv",
    }
    run_dir = make_session(**settings).render().parent
    reference = assert_resumes_alike(make_session, run_dir, 6, 3)
    plain = _frames(make_session(prompts=PROMPTS, zoom="0: (1.05)"))
    assert not np.array_equal(reference[3], plain[3])  # coherence changed the frames


def test_first_with_motion_resumes_to_the_same_frames(make_session):
    settings = {"prompts": PROMPTS, "translate_x": "0: (3)", "color_coherence": "first"}
    run_dir = make_session(**settings).render().parent
    assert_resumes_alike(make_session, run_dir, 6, 4)  # frame 0, the reference, rendered again


def test_settings_errors_name_the_field(tmp_path):
    settings = Settings(prompts=PROMPTS, color_coherence="previous")
    with pytest.raises(SettingsError, match="needs 2D motion") as info:
        check_setting(settings, "color_coherence")
    assert info.value.field == "color_coherence"
    settings.update(zoom="0: (1.0)")  # a zoom that never moves is no motion
    with pytest.raises(SettingsError, match="needs 2D motion"):
        check_setting(settings, "color_coherence")
    settings.update(zoom="0: (1.02)")
    check_setting(settings, "color_coherence")
    settings.update(color_coherence="image")
    with pytest.raises(SettingsError, match="choose the image") as info:
        check_setting(settings, "color_coherence_image")
    assert info.value.field == "color_coherence_image"
    settings.update(color_coherence_image=str(tmp_path / "missing.png"))
    with pytest.raises(SettingsError, match="no such file"):
        check_setting(settings, "color_coherence_image")
    (tmp_path / "text.png").write_text("not a picture")
    settings.update(color_coherence_image=str(tmp_path / "text.png"))
    with pytest.raises(SettingsError) as info:
        check_setting(settings, "color_coherence_image")
    assert info.value.field == "color_coherence_image"
    with pytest.raises(SettingsError, match="expected one of none, first, previous, image"):
        Settings(color_coherence="last")
