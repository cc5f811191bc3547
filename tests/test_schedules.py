"""Tests for interpolation schedules (giffusion_nb.keyframes.schedules)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.keyframes.schedules import (
    INTERPOLATION_TYPES,
    FrameStep,
    check_schedule,
    frame_steps,
    linear_schedule,
    parse_frequencies,
    segment_schedule,
    sine_schedule,
)


def _local_maxima(values: np.ndarray) -> int:
    return int(np.sum((values[1:-1] > values[:-2]) & (values[1:-1] > values[2:])))


# --- schedules ---------------------------------------------------------------------------------


def test_interpolation_types():
    assert INTERPOLATION_TYPES == ("linear", "sine", "curve", "audio")


def test_linear_is_exact_at_the_ends_and_evenly_spaced():
    values = linear_schedule(11)
    assert values[0] == 0.0
    assert values[-1] == 1.0
    assert np.allclose(np.diff(values), 0.1)
    assert list(linear_schedule(2)) == [0.0, 1.0]


def test_sine_with_one_frequency_goes_there_and_back():
    values = sine_schedule(21, [1.0])
    assert values[0] == 0.0
    assert values[10] == pytest.approx(1.0)
    assert values.max() == pytest.approx(1.0)
    assert values[-1] == pytest.approx(0.0, abs=1e-12)
    assert _local_maxima(values) == 1


def test_doubling_the_frequency_doubles_the_peaks():
    assert _local_maxima(sine_schedule(161, [1.0])) == 1
    assert _local_maxima(sine_schedule(161, [2.0])) == 2
    assert _local_maxima(sine_schedule(161, [4.0])) == 4


def test_sine_sums_frequencies_then_normalises():
    x = np.linspace(0, 1, 50)
    expected = np.sin(np.pi * x) ** 2 + np.sin(np.pi * 3 * x) ** 2
    values = sine_schedule(50, [1.0, 3.0])
    assert values == pytest.approx(expected / expected.max())
    assert values.max() == pytest.approx(1.0)
    assert values.min() >= 0.0


def test_sine_with_a_single_frame_is_zero():
    assert list(sine_schedule(1, [1.0])) == [0.0]


def test_parse_frequencies():
    assert parse_frequencies("") == [1.0]
    assert parse_frequencies("   ") == [1.0]
    assert parse_frequencies("1.0, 2") == [1.0, 2.0]
    assert parse_frequencies(" 0.5 ,1e1,") == [0.5, 10.0]


@pytest.mark.parametrize(
    ("text", "position", "found"),
    [
        ("1.0, abc", 5, "expected a frequency (a positive number), found 'abc'"),
        ("1.0,, 2", 4, "found nothing"),
        ("  x", 2, "found 'x'"),
        ("1, 0", 3, "expected a positive finite frequency, found '0'"),
        ("-1", 0, "expected a positive finite frequency, found '-1'"),
        ("1e999", 0, "positive finite frequency"),
        ("nan", 0, "found 'nan'"),
        ("inf", 0, "found 'inf'"),
    ],
)
def test_bad_frequency_text(text, position, found):
    with pytest.raises(SettingsError) as info:
        parse_frequencies(text)
    assert info.value.field == "interpolation_args"
    assert info.value.position == position
    assert found in str(info.value)


@settings(deadline=500, max_examples=200)
@given(st.text())
def test_any_frequency_text_parses_or_raises_settings_error(text):
    try:
        frequencies = parse_frequencies(text)
    except SettingsError as err:
        assert err.field == "interpolation_args"
        return
    assert all(np.isfinite(f) and f > 0 for f in frequencies)


def test_segment_schedule_length_and_kinds():
    assert list(segment_schedule("linear", 10, 14)) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert segment_schedule("sine", 0, 20, "2").shape == (21,)
    assert list(segment_schedule("curve", 5, 7, "0: (0), 2: (1)")) == [0.0, 0.5, 1.0]


def test_curve_schedule_is_read_relative_to_the_segment():
    curve = "0: (0), 5: (1)"
    steps = frame_steps([0, 10, 30], 40, "curve", curve)
    second_segment = curve_values(curve, 21)
    for k in range(20):
        step = steps[10 + k]
        assert step.segment == 1
        assert step.t == second_segment[k]
    assert steps[13].t == pytest.approx(0.6)


def test_curve_schedule_uses_max_f_of_the_segment():
    assert list(segment_schedule("curve", 10, 14, "0: (t / max_f)")) == [0, 0.25, 0.5, 0.75, 1]


def test_audio_callable_gets_start_and_end_of_each_segment():
    calls = []

    def audio(start: int, end: int) -> np.ndarray:
        calls.append((start, end))
        return np.linspace(0.0, 1.0, end - start + 1) ** 2

    steps = frame_steps([0, 4, 8], 10, "audio", audio=audio)
    assert calls == [(0, 4), (4, 8)]
    assert [step.t for step in steps[:4]] == [0.0, 1 / 16, 4 / 16, 9 / 16]
    assert steps[5].segment == 1


def test_audio_callable_returning_the_wrong_length_is_a_bug():
    with pytest.raises(ValueError, match="expected \\(5,\\)"):
        segment_schedule("audio", 0, 4, audio=lambda start, end: np.zeros(3))


# --- frame_steps -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["linear", "sine"])
def test_every_key_frame_has_t_zero_and_its_own_segment(kind):
    key_frames = [0, 7, 12, 30]
    steps = frame_steps(key_frames, 40, kind, "1, 2" if kind == "sine" else "")
    assert [step.frame for step in steps] == list(range(40))
    for index, key_frame in enumerate(key_frames):
        assert steps[key_frame].t == 0.0
        assert steps[key_frame].segment == index


def test_linear_frame_steps():
    steps = frame_steps([0, 4], 6)
    assert steps == [
        FrameStep(0, 0, 0.0),
        FrameStep(1, 0, 0.25),
        FrameStep(2, 0, 0.5),
        FrameStep(3, 0, 0.75),
        FrameStep(4, 1, 0.0),
        FrameStep(5, 1, 0.0),
    ]


def test_frames_before_the_first_key_frame_show_its_prompt():
    steps = frame_steps([3, 5], 6)
    assert steps[:3] == [FrameStep(0, 0, 0.0), FrameStep(1, 0, 0.0), FrameStep(2, 0, 0.0)]
    assert steps[3] == FrameStep(3, 0, 0.0)
    assert steps[4] == FrameStep(4, 0, 0.5)
    assert steps[5] == FrameStep(5, 1, 0.0)


def test_single_key_frame():
    steps = frame_steps([2], 5)
    assert steps == [FrameStep(frame, 0, 0.0) for frame in range(5)]


def test_last_frame_on_a_key_frame_and_between_key_frames():
    assert frame_steps([0, 9], 10)[-1] == FrameStep(9, 1, 0.0)
    last = frame_steps([0, 10], 6)[-1]
    assert last == FrameStep(5, 0, 0.5)


def test_key_frames_beyond_the_video_are_not_computed():
    calls = []

    def audio(start: int, end: int) -> np.ndarray:
        calls.append((start, end))
        return np.zeros(end - start + 1)

    steps = frame_steps([0, 4, 20, 30], 8, "audio", audio=audio)
    assert len(steps) == 8
    assert calls == [(0, 4), (4, 20)]
    assert frame_steps([10, 20], 4) == [FrameStep(frame, 0, 0.0) for frame in range(4)]


def test_no_frames():
    assert frame_steps([0, 5], 0) == []


# --- errors ------------------------------------------------------------------------------------


def test_unknown_kind():
    with pytest.raises(SettingsError) as info:
        frame_steps([0, 5], 10, "foo")
    assert str(info.value) == (
        "`interpolation_type`: unknown interpolation type 'foo', "
        "expected one of linear, sine, curve, audio"
    )


def test_bad_frequencies_fail_in_frame_steps_with_position():
    with pytest.raises(SettingsError) as info:
        frame_steps([0, 5], 10, "sine", "1, two")
    assert info.value.field == "interpolation_args"
    assert info.value.position == 3


def test_curve_outside_zero_one():
    with pytest.raises(SettingsError) as info:
        frame_steps([0, 10], 11, "curve", "0: (0), 5: (0.5), 7: (1.3)")
    assert info.value.field == "interpolation_args"
    assert "frame 7 has value 1.3, expected a value in [0, 1]" in str(info.value)


def test_bad_curve_fails_before_any_segment_is_computed():
    with pytest.raises(SettingsError) as info:
        frame_steps([0, 10], 11, "curve", "0: (0), 10: (")
    assert info.value.field == "interpolation_args"
    assert info.value.position == 13


def test_audio_without_callable():
    with pytest.raises(SettingsError) as info:
        frame_steps([0, 5], 10, "audio")
    assert info.value.field == "interpolation_type"
    assert "the audio schedule needs an audio input" in str(info.value)
    with pytest.raises(SettingsError, match="needs an audio input"):
        segment_schedule("audio", 0, 5)


def test_check_schedule():
    check_schedule("linear", "")
    check_schedule("sine", "1, 2")
    check_schedule("curve", "0: (0), 10: (1)")
    check_schedule("audio", "", audio_available=True)
    with pytest.raises(SettingsError, match="needs an audio input"):
        check_schedule("audio", "")
    with pytest.raises(SettingsError, match="unknown interpolation type 'cubic'"):
        check_schedule("cubic", "")
    with pytest.raises(SettingsError, match="found an empty text"):
        check_schedule("curve", "")
    with pytest.raises(SettingsError) as info:
        check_schedule("sine", "1, x")
    assert info.value.position == 3


def test_an_interpolation_curve_reads_audio_at_each_frames_own_time():
    from fractions import Fraction

    from giffusion_nb.keyframes.audio_terms import FrameFeatures
    from giffusion_nb.keyframes.schedules import frame_schedule

    loud = np.zeros(30)
    loud[[3, 14]] = 1.0  # frame 3 in the first segment, frame 14 in the second

    features = FrameFeatures(lambda term: loud, Fraction(10))
    _, t = frame_schedule([0, 10, 20], 21, "curve", "0: (0.5*amp)", features=features)
    assert np.flatnonzero(t).tolist() == [3, 14]
    assert t[[3, 14]].tolist() == [0.5, 0.5]
    with pytest.raises(SettingsError) as info:
        frame_schedule([0, 10], 11, "curve", "0: (0.5*amp)")
    assert info.value.field == "interpolation_args" and "no audio input" in info.value.message
