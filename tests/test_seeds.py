"""Seed behaviours: Deforum's seed sequences, and each key frame's noise from its frame's seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import pixels, spy_calls

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.seeds import frame_seeds
from giffusion_nb.render.conditioning import key_frame_latents
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

FRAMES = list(range(8))


@pytest.mark.parametrize(
    ("behavior", "every", "expected"),
    [  # Deforum's next_seed from seed 10, frame by frame
        ("iter", 1, [10, 11, 12, 13, 14, 15, 16, 17]),
        ("iter", 3, [10, 10, 10, 11, 11, 11, 12, 12]),
        ("fixed", 1, [10] * 8),
        ("ladder", 1, [10, 12, 11, 13, 12, 14, 13, 15]),
        ("alternate", 1, [10, 11, 10, 11, 10, 11, 10, 11]),
    ],
)
def test_seed_behaviours_give_deforums_sequences(behavior, every, expected):
    assert frame_seeds(behavior, 10, FRAMES, every=every) == expected
    assert frame_seeds(behavior, 10, [5, 2], every=every) == [expected[5], expected[2]]


def test_random_seeds_are_drawn_from_the_seed_and_the_frame():
    seeds = frame_seeds("random", 10, FRAMES)
    assert seeds[0] == 10 and len(set(seeds)) == 8
    assert all(0 <= seed < 2**32 for seed in seeds)
    assert frame_seeds("random", 10, [6, 3]) == [seeds[6], seeds[3]]  # the same every render
    assert frame_seeds("random", 11, FRAMES)[1:] != seeds[1:]


def test_a_seed_schedule_gives_each_frame_its_value():
    assert frame_seeds("schedule", 10, FRAMES, schedule="0: (5), 2: (9), 6: (1)") == [
        5, 7, 9, 7, 5, 3, 1, 1
    ]  # fmt: skip


PROMPTS = "0: a red circle\n3: a blue square"


def test_each_key_frame_takes_its_frames_seed_and_only_its_frames_change(make_session, monkeypatch):
    alternate = make_session(prompts=PROMPTS, seed=7, seed_behavior="alternate")
    assert [alternate.spec().plan.key_frame_seed(i) for i in (0, 1)] == [7, 8]  # iter: 7, 10
    calls = spy_calls(monkeypatch, alternate.pipeline)
    changed = [f.image for f in alternate.render_frames()]
    expected = key_frame_latents([7, 8], (4, 8, 8), torch.device("cpu"), torch.float32)
    torch.testing.assert_close(calls[3]["latents"][0], expected[1])
    iterated = [f.image for f in make_session(prompts=PROMPTS, seed=7).render_frames()]
    assert np.array_equal(pixels(changed[0]), pixels(iterated[0]))  # key frame 0: seed 7
    for index in (1, 2, 3):  # the frames travelling to key frame 3 changed
        assert not np.array_equal(pixels(changed[index]), pixels(iterated[index]))
    fixed = make_session(prompts=PROMPTS, seed=7, seed_behavior="fixed")
    assert [fixed.spec().plan.key_frame_seed(i) for i in (0, 1)] == [7, 7]


def test_seed_settings_errors_name_the_field():
    settings = Settings(prompts=PROMPTS, seed_behavior="schedule")
    with pytest.raises(SettingsError, match="give seeds like") as info:
        check_setting(settings, "seed_schedule")
    assert info.value.field == "seed_schedule"
    settings.update(seed_schedule="0: (5), 3: (6)")
    with pytest.raises(SettingsError, match=r"frame 1 has seed 5\.33"):
        check_setting(settings, "seed_schedule")
    settings.update(seed_schedule="0: (5), 3: (-1)")
    with pytest.raises(SettingsError, match="whole number from 0"):
        check_setting(settings, "seed_schedule")
    settings.update(seed_schedule="0: (5), 3: (8)")
    check_setting(settings, "seed_schedule")
    settings.update(seed_behavior="iter")
    with pytest.raises(SettingsError, match="does not read it"):
        check_setting(settings, "seed_schedule")
    settings.update(seed_schedule="", seed_behavior="ladder", seed_iter_n=2)
    with pytest.raises(SettingsError, match="only seed_behavior `iter` reads it") as info:
        check_setting(settings, "seed_iter_n")
    assert info.value.field == "seed_iter_n"
    settings.update(seed_iter_n=1, use_fixed_latent=True)
    with pytest.raises(SettingsError, match="use_fixed_latent") as info:
        check_setting(settings, "seed_behavior")
    assert info.value.field == "seed_behavior"
    with pytest.raises(SettingsError, match="expected one of iter, fixed, random"):
        Settings(seed_behavior="up")
