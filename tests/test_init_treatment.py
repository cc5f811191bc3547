"""The init treatment of 2D motion (Deforum's contrast, anti-blur and noise schedules): the pixel
maths, the per-frame values, renders that change only the frames a key frame governs and resume
to the same frames, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_resumes_alike, gradient, pixels, spy_calls
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.treatment_schedule import (
    TreatmentStep,
    kernel_for,
    treatment_schedule,
)
from giffusion_nb.media.init_treatment import add_noise, adjust_contrast, treat, unsharp_mask
from giffusion_nb.media.motion import warp
from giffusion_nb.render.init_treatment import init_treatment, noise_seed
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

PROMPTS = "0: a red circle\n5: a blue square"
MOVE = {"translate_x": "0: (4)", "strength": 0.6}


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(seed)


# --- the pixel maths ---------------------------------------------------------------------------


def test_contrast_one_no_anti_blur_and_no_noise_leave_the_picture_as_it_was():
    picture = gradient(3)
    values = pixels(picture)
    assert treat(picture, TreatmentStep(), _generator()) is picture
    np.testing.assert_array_equal(adjust_contrast(values, 1.0), values)
    np.testing.assert_array_equal(unsharp_mask(values, 0.0, 1.0, 5), values)
    np.testing.assert_array_equal(add_noise(values, 0.0, _generator()), values)


def test_contrast_half_halves_every_level_and_large_contrast_clips():
    values = pixels(gradient(1))
    np.testing.assert_allclose(adjust_contrast(values, 0.5), values / 2)
    treated = pixels(treat(Image.new("RGB", (8, 8), (100, 40, 200)), TreatmentStep(0.5), None))
    assert treated[0, 0].tolist() == [50, 20, 100]
    assert adjust_contrast(values, 3.0).max() == 255.0


def test_the_unsharp_mask_raises_the_contrast_of_a_step_edge():
    values = np.full((16, 32, 3), 64.0, dtype=np.float32)
    values[:, 16:] = 192.0
    sharp = unsharp_mask(values, 1.0, 1.0, 5)
    assert sharp[8, 15, 0] < 64.0 - 20 and sharp[8, 16, 0] > 192.0 + 20  # overshoot both sides
    np.testing.assert_allclose(sharp[:, :12], values[:, :12], atol=1e-3)  # flat parts stay
    np.testing.assert_allclose(sharp[:, 20:], values[:, 20:], atol=1e-3)
    more = unsharp_mask(values, 2.0, 1.0, 5)
    assert more[8, 16, 0] - more[8, 15, 0] > sharp[8, 16, 0] - sharp[8, 15, 0]
    # pixels within `threshold` levels of the blur stay: the edge differs by < 64 from its blur
    np.testing.assert_array_equal(unsharp_mask(values, 1.0, 1.0, 5, threshold=80), values)
    assert not np.array_equal(unsharp_mask(values, 1.0, 1.0, 5, threshold=10), values)


def test_noise_of_amount_a_has_a_standard_deviation_of_a_times_127_5():
    grey = np.full((128, 128, 3), 128.0, dtype=np.float32)
    noisy = add_noise(grey, 0.04, _generator(7))
    assert np.std(noisy - grey) == pytest.approx(0.04 * 127.5, rel=0.02)
    assert abs(np.mean(noisy - grey)) < 0.2
    np.testing.assert_array_equal(noisy, add_noise(grey, 0.04, _generator(7)))


def test_the_treatment_applies_contrast_then_anti_blur_then_noise():
    picture = gradient(2)
    step = TreatmentStep(contrast=0.8, amount=0.5, sigma=1.5, kernel=5, noise=0.02)
    expected = adjust_contrast(pixels(picture), 0.8)
    expected = add_noise(unsharp_mask(expected, 0.5, 1.5, 5), 0.02, _generator(3))
    treated = pixels(treat(picture, step, _generator(3)))
    np.testing.assert_array_equal(treated, np.rint(expected))


# --- per-frame values and seeds ----------------------------------------------------------------


def test_empty_strings_mean_no_treatment_and_the_kernel_follows_sigma():
    schedule = treatment_schedule(4)
    assert not schedule.is_active()
    assert schedule.step(2) == TreatmentStep(1.0, 0.0, 1.0, 7, 0.0, 0.0)
    assert [kernel_for(sigma) for sigma in (0.1, 0.5, 1.0, 1.2, 2.0)] == [3, 5, 7, 9, 13]
    schedule = treatment_schedule(
        5,
        anti_blur_amount="0.2",
        anti_blur_sigma="0: (1), 4: (2)",
        contrast_schedule="0: (t/4+0.5)",
    )
    assert schedule.kernel.tolist() == [7, 9, 11, 13, 13]  # sigma 1, 1.25, 1.5, 1.75, 2
    assert schedule.contrast.tolist() == [0.5, 0.75, 1.0, 1.25, 1.5]
    explicit = treatment_schedule(3, anti_blur_kernel="0: (3), 1: (3), 2: (5)")
    assert explicit.kernel.tolist() == [3, 3, 5]


def test_noise_depends_only_on_the_frame_and_its_seed():
    values = {"prompts": "0: a\n6: b", "noise_schedule": "0.05", "zoom": "1.01"}
    settings = Settings(**values).frozen()
    treatment = init_treatment(settings, 7, None)
    assert treatment.seeds == tuple(settings.seed + frame for frame in range(7))  # iter
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    frame_3 = pixels(treatment.apply(3, grey))
    np.testing.assert_array_equal(frame_3, pixels(treatment.apply(3, grey)))
    assert not np.array_equal(frame_3, pixels(treatment.apply(4, grey)))
    # the noise is a stream of its own, not the key-frame noise the same seed draws
    assert noise_seed(settings.seed + 3) != settings.seed + 3
    fixed = init_treatment(Settings(**values, seed_behavior="fixed").frozen(), 7, None)
    np.testing.assert_array_equal(pixels(fixed.apply(3, grey)), pixels(fixed.apply(4, grey)))
    assert init_treatment(Settings(contrast_schedule="1").frozen(), 7, None) is None


# --- renders -----------------------------------------------------------------------------------


def _frames(session) -> list[np.ndarray]:
    return [pixels(frame.image) for frame in session.render_frames()]


def test_a_key_frame_at_frame_3_changes_only_frames_3_on(make_session):
    before = _frames(make_session(prompts=PROMPTS, **MOVE))
    for values in (
        {"noise_schedule": "0: (0), 2: (0), 3: (0.08)"},
        {"contrast_schedule": "0: (1), 2: (1), 3: (0.8)"},
        {"anti_blur_amount": "0: (0), 2: (0), 3: (1.5)", "anti_blur_sigma": "2"},
    ):
        after = _frames(make_session(prompts=PROMPTS, **MOVE, **values))
        for index in range(3):
            assert np.array_equal(after[index], before[index]), (values, index)
        for index in range(3, 6):
            assert np.abs(after[index] - before[index]).mean() > 0.5, (values, index)


def test_each_init_is_the_warped_frame_before_treated(make_session, monkeypatch):
    values = {"noise_schedule": "0: (0), 2: (0), 3: (0.05)", "contrast_schedule": "0.9"}
    session = make_session(prompts=PROMPTS, **MOVE, **values)
    calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    frames = [frame.image for frame in session.render_frames()]
    treatment = session.spec().init_treatment
    for frame in range(1, 6):
        warped = warp(frames[frame - 1], session.spec().motion.step(frame))
        expected = pixels(treatment.apply(frame, warped))
        assert np.array_equal(pixels(calls[frame - 1]["image"][0]), expected), frame


def test_a_treated_render_resumes_to_the_same_frames(make_session):
    values = {"noise_schedule": "0.03", "anti_blur_amount": "0.5", "contrast_schedule": "0.95"}
    run_dir = make_session(prompts=PROMPTS, **MOVE, **values).render().parent
    assert_resumes_alike(make_session, run_dir, 6, 3)


def test_a_cadence_treats_the_diffused_frames_inits(make_session, monkeypatch):
    cadence = {"prompts": "0: a red circle\n9: a blue square", "diffusion_cadence": 3, **MOVE}
    before = _frames(make_session(**cadence))
    session = make_session(**cadence, noise_schedule="0: (0), 5: (0), 6: (0.08)")
    calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    after = _frames(session)
    assert len(calls) == 3  # frames 3, 6 and 9
    for index in range(4):  # frames 0-3: up to the diffused frame before the key frame
        assert np.array_equal(after[index], before[index]), index
    for index in (4, 5, 6, 9):  # the in-betweens of frame 6 and the frames after it
        assert np.abs(after[index] - before[index]).mean() > 0.2, index


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"noise_schedule": "0: (0.1), 6: (-0.1)"}, "noise_schedule", "frame 4 has -0.0333"),
        ({"contrast_schedule": "0: (1), 4: (0)"}, "contrast_schedule", "frame 4 has 0; expected"),
        ({"anti_blur_amount": "0: (-1)"}, "anti_blur_amount", "frame 0 has -1"),
        ({"anti_blur_sigma": "0: (0)"}, "anti_blur_sigma", "expected a value above 0"),
        ({"anti_blur_kernel": "0: (4)"}, "anti_blur_kernel", "frame 0 has kernel 4; expected an"),
        ({"anti_blur_kernel": "0: (3), 2: (5)"}, "anti_blur_kernel", "frame 1 has kernel 4"),
        ({"anti_blur_threshold": "0: (300)"}, "anti_blur_threshold", "up to 255"),
        ({"anti_blur_amount": "", "anti_blur_sigma": "2"}, "anti_blur_sigma", "amount is empty"),
        ({"zoom": "", "noise_schedule": "0.02"}, "noise_schedule", "no frame moves: set zoom"),
        ({"zoom": "", "contrast_schedule": "0.9"}, "contrast_schedule", "no frame moves"),
        ({"noise_schedule": "0: (0.1*onset)"}, "noise_schedule", "audio"),
    ],
)
def test_bad_values_name_the_field_and_frame(values, field, words):
    base = {"prompts": "0: a\n6: b", "zoom": "0: (1.02)", "anti_blur_amount": "0.2"}
    settings = Settings(**(base | values))
    with pytest.raises(SettingsError, match=words) as info:
        check_setting(settings, field)
    assert info.value.field == field
    check_setting(settings, "zoom")  # only the field itself is blamed
