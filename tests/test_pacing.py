"""Even-paced travel: the re-timing maths, the probe, and frames that change evenly."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.pacing import (
    Pacing,
    SegmentProbe,
    even_plan_t,
    evenness,
    next_probe,
    probe_budget,
    probe_points,
    step_changes,
)
from giffusion_nb.render.pacing import probe_pacing
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting


def test_even_t_inverts_the_cumulative_change():
    # the picture makes 80 % of its change in the first half of t
    probe = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.array([8.0, 2.0]), frames=4)
    np.testing.assert_allclose(probe.cumulative(), [0.0, 0.8, 1.0])
    paced = probe.even_t(np.array([0.0, 0.4, 0.8, 0.9, 1.0]))
    np.testing.assert_allclose(paced, [0.0, 0.25, 0.5, 0.75, 1.0])


def test_a_probe_without_change_keeps_the_schedule():
    probe = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.zeros(2), frames=4)
    np.testing.assert_allclose(probe.even_t(np.array([0.0, 0.3, 0.7])), [0.0, 0.3, 0.7])


def test_a_jump_counts_as_one_frames_step():
    # 10 frames; between t 0.5 and 0.51 the picture flips (a change of 20, narrower than a
    # frame): the other 9 steps share the smooth change of 9, the jump weighs one step of 1.
    probe = SegmentProbe(np.array([0.0, 0.5, 0.51, 1.0]), np.array([4.5, 20.0, 4.5]), frames=10)
    assert probe.jumps().tolist() == [False, True, False]
    np.testing.assert_allclose(probe.cumulative(), [0.0, 0.45, 0.55, 1.0])


def test_the_largest_change_is_split_until_a_jump_is_found():
    uneven = SegmentProbe(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), np.array([1, 1, 9, 1.0]), 24)
    assert next_probe(uneven) == pytest.approx(0.625)
    still = SegmentProbe(np.array([0.0, 0.5, 1.0]), np.zeros(2), 24)
    assert next_probe(still) is None
    found = SegmentProbe(np.array([0.0, 0.5, 0.51, 1.0]), np.array([1.0, 20.0, 2.5]), 24)
    assert next_probe(found) == pytest.approx(0.755)  # the jump stays; the next largest splits
    spent = SegmentProbe(np.linspace(0, 1, 7), np.array([1.0] * 5 + [20.0]), frames=17)
    assert next_probe(spent) is None  # 35 % of 17 frames: 6 probe pictures


def test_the_plan_is_re_timed_per_segment_and_key_frames_stay_put():
    segments = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    scheduled = np.array([0.0, 0.25, 0.5, 0.75, 0.0, 1 / 3, 2 / 3, 0.0])
    probes = {0: SegmentProbe(np.array([0.0, 0.5, 1.0]), np.array([3.0, 1.0]), frames=4)}
    paced = even_plan_t(segments, scheduled, probes)
    np.testing.assert_allclose(paced[:4], [0.0, 1 / 6, 1 / 3, 0.5])
    np.testing.assert_allclose(paced[4:], scheduled[4:])  # segment 1 was not probed
    assert paced[0] == paced[4] == paced[7] == 0.0


def test_probe_budget_is_a_share_of_the_frames():
    assert len(probe_points(24)) == 3
    assert probe_budget(2) == 3 and probe_budget(24) == 8


def test_evenness_and_step_changes():
    pictures = [np.full((2, 2), value, dtype=np.float32) for value in (0, 1, 2, 6)]
    changes = step_changes(pictures)
    np.testing.assert_allclose(changes, [1, 1, 4])
    cv, peak = evenness(changes)
    assert cv == pytest.approx(np.std([1, 1, 4]) / 2) and peak == pytest.approx(2.0)


def test_the_pacing_record_round_trips():
    probes = {0: SegmentProbe(np.array([0.0, 1.0]), np.array([2.0]), frames=2)}
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


# --- the probe on a model whose picture is a known function of t ------------------------------


@dataclasses.dataclass
class PictureOfT:
    """A stand-in job: the picture of (segment, t) is flat grey at ``level(t)``."""

    plan: object
    spec: object
    level: object
    callback: object = None
    calls: int = 0

    def init_of(self, frame):
        return None

    def denoise(self, steps, inits):
        self.calls += 1
        return [
            Image.new("L", (8, 8), round(self.level(step.segment + step.t))).convert("RGB")
            for step in steps
        ]


def _picture_job(level, prompts="0: a\n24: b"):
    spec = RenderSpec.from_settings(Settings(prompts=prompts, pacing="even"))
    return PictureOfT(spec.plan, spec, level)


def _changes(job, plan):
    pictures = [np.asarray(image, dtype=np.float32) for image in job.denoise(plan.steps, None)]
    return step_changes(pictures)


def test_the_probe_evens_a_picture_that_changes_late():
    job = _picture_job(lambda x: 250 * x**2)  # three quarters of the change in the second half
    linear = _changes(job, job.plan)
    pacing = probe_pacing(job)
    paced = _changes(job, job.plan.with_t(pacing.t))
    assert evenness(paced)[0] <= 0.5 * evenness(linear)[0]
    assert evenness(paced)[1] <= 2.0
    assert pacing.probe_frames <= 0.35 * 24 and pacing.t[0] == 0.0
    assert np.all(np.diff(pacing.t[:-1]) > 0) and pacing.t[-1] == 0.0  # the end key frame


def test_the_probe_finds_a_jump_and_gives_it_one_frame():
    job = _picture_job(lambda x: 60 * x + (150 if x > 0.3 else 0))  # a flip at t = 0.3
    pacing = probe_pacing(job)
    (jump,) = np.flatnonzero(pacing.probes[0].jumps())
    assert pacing.probes[0].t[jump] < 0.3 < pacing.probes[0].t[jump + 1]
    paced = _changes(job, job.plan.with_t(pacing.t))
    assert (paced > 100).sum() == 1  # the flip falls between two frames, once
    smooth = paced[paced < 100]
    assert smooth.max() <= 2 * smooth.mean()


def test_a_paced_render_is_recorded_resumed_and_drawn(make_session):
    from giffusion_nb.ui.previews import Previews

    prompts = "0: a red fox\n6: a blue lion"
    plain = [f.image for f in make_session(prompts=prompts).render_frames()]
    session = make_session(prompts=prompts, pacing="even", batch_size=3)
    previews = Previews(session)
    output = session.render()
    run_dir = output.parent
    record = json.loads((run_dir / "pacing.json").read_text())
    assert record["t"] == session.pacing.t.tolist() and record["probe_frames"] == 3
    assert "pacing: 3 probe frames" in session.message
    frames = sorted((run_dir / "frames").glob("*.png"))
    for index in (0, 6):  # key frames stay exact
        key = np.asarray(Image.open(frames[index]), dtype=np.float32)
        assert np.abs(key - np.asarray(plain[index], dtype=np.float32)).max() <= 1
    paced_line = previews.schedule.pacing.paced
    np.testing.assert_allclose(paced_line.get_ydata(), session.pacing.t)
    assert "dashed: t evenly paced" in previews.schedule.message.value
    reference = [np.asarray(Image.open(path)) for path in frames]
    for path in frames[2:5]:
        path.unlink()
    resumed = make_session(batch_size=1)
    resumed.render(resume=run_dir)
    for path, expected in zip(frames, reference, strict=True):
        assert np.abs(np.asarray(Image.open(path), dtype=np.int16) - expected).max() <= 1
    assert resumed.pacing.seconds == record["seconds"]  # read back, not probed again
