"""Even-paced travel: the re-timing maths, the probe, and frames that change evenly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.pacing import (
    Pacing,
    SegmentProbe,
    even_plan_t,
    evenness,
    next_probe,
    probe_points,
    step_changes,
)
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting


def test_even_t_inverts_the_cumulative_change():
    # the picture makes 80 % of its change in the first half of t
    probe = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.array([8.0, 2.0]))
    np.testing.assert_allclose(probe.cumulative(), [0.0, 0.8, 1.0])
    paced = probe.even_t(np.array([0.0, 0.4, 0.8, 0.9, 1.0]))
    np.testing.assert_allclose(paced, [0.0, 0.25, 0.5, 0.75, 1.0])


def test_a_probe_without_change_keeps_the_schedule():
    probe = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.zeros(2))
    np.testing.assert_allclose(probe.even_t(np.array([0.0, 0.3, 0.7])), [0.0, 0.3, 0.7])


def test_the_largest_step_is_split_while_it_stands_out():
    uneven = SegmentProbe(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), np.array([1.0, 1.0, 9.0, 1.0]))
    assert next_probe(uneven) == pytest.approx(0.625)
    even = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.2]))
    assert next_probe(even) is None
    full = SegmentProbe(np.linspace(0, 1, 9), np.array([1.0] * 7 + [20.0]))
    assert next_probe(full) is None  # the segment has all the probe points it may have


def test_the_plan_is_re_timed_per_segment_and_key_frames_stay_put():
    segments = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    scheduled = np.array([0.0, 0.25, 0.5, 0.75, 0.0, 1 / 3, 2 / 3, 0.0])
    probes = {0: SegmentProbe(np.array([0.0, 0.5, 1.0]), np.array([3.0, 1.0]))}
    paced = even_plan_t(segments, scheduled, probes)
    np.testing.assert_allclose(paced[:4], [0.0, 1 / 6, 1 / 3, 0.5])
    np.testing.assert_allclose(paced[4:], scheduled[4:])  # segment 1 was not probed
    assert paced[0] == paced[4] == paced[7] == 0.0


def test_probe_points_fit_short_segments():
    assert len(probe_points(2)) == 3 and len(probe_points(30)) == 5


def test_evenness_and_step_changes():
    pictures = [np.full((2, 2), value, dtype=np.float32) for value in (0, 1, 2, 6)]
    changes = step_changes(pictures)
    np.testing.assert_allclose(changes, [1, 1, 4])
    cv, peak = evenness(changes)
    assert cv == pytest.approx(np.std([1, 1, 4]) / 2) and peak == pytest.approx(2.0)


def test_the_pacing_record_round_trips():
    probes = {0: SegmentProbe(np.array([0.0, 1.0]), np.array([2.0]))}
    pacing = Pacing(np.array([0.0, 0.5, 0.0]), np.array([0.0, 0.4, 0.0]), probes, 2, 1.5)
    again = Pacing.from_json(json.loads(json.dumps(pacing.to_json())), 3)
    np.testing.assert_allclose(again.t, pacing.t)
    assert again.probes[0].change.tolist() == [2.0] and again.describe() == pacing.describe()
    with pytest.raises(ValueError):
        Pacing.from_json(pacing.to_json(), 4)


def test_even_pacing_with_motion_is_refused_by_the_pacing_field():
    settings = Settings(pacing="even", zoom="0: (1.02)")
    with pytest.raises(SettingsError, match="2D motion") as info:
        check_setting(settings, "pacing")
    assert info.value.field == "pacing"
    check_setting(settings, "zoom")
