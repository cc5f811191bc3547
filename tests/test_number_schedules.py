"""Key-frame strings for guidance_scale and num_inference_steps: a schedule changes only the
frames its key frames govern, frames with other values go in other calls, any batch size."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pixels, spy_calls

from giffusion_nb.errors import SettingsError
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

PROMPTS = "0: a red circle\n5: a blue square"


def _frames(session) -> list[np.ndarray]:
    return [pixels(frame.image) for frame in session.render_frames()]


@pytest.mark.parametrize(
    ("name", "plain", "schedule", "expected"),
    [
        ("guidance_scale", 3.0, "0: (3), 3: (3), 5: (7)", [3.0] * 4 + [5.0, 7.0]),
        ("num_inference_steps", 2, "0: (2), 3: (2), 5: (4)", [2] * 4 + [3, 4]),
    ],
)
def test_a_schedule_changes_only_the_frames_its_key_frames_govern(
    make_session, monkeypatch, name, plain, schedule, expected
):
    before = _frames(make_session(prompts=PROMPTS, **{name: plain}))
    session = make_session(prompts=PROMPTS, batch_size=6, **{name: schedule})
    calls = spy_calls(monkeypatch, session.pipeline)
    after = _frames(session)
    assert [len(call["latents"]) for call in calls] == [4, 1, 1]  # one value a call
    assert [call[name] for call in calls] == [expected[0], expected[4], expected[5]]
    one_by_one = _frames(make_session(prompts=PROMPTS, batch_size=1, **{name: schedule}))
    for index in range(4):  # frames 0-3 keep the plain value
        assert np.array_equal(one_by_one[index], before[index]), index
    for index in (4, 5):
        assert np.abs(one_by_one[index] - before[index]).mean() > 1.0, index
    for a, b in zip(after, one_by_one, strict=True):  # the batch size changes nothing
        np.testing.assert_allclose(a, b, atol=2.0)


def test_schedule_errors_name_the_field_and_frame():
    settings = Settings(prompts=PROMPTS, num_inference_steps="0: (2), 5: (2000)")
    with pytest.raises(SettingsError, match="between 1 and 1000, frame 3 has 1201") as info:
        check_setting(settings, "num_inference_steps")
    assert info.value.field == "num_inference_steps"
    settings.update(num_inference_steps=20, guidance_scale="0: (3), 5: (-7)")
    with pytest.raises(SettingsError, match="between 0 and 100, frame 2 has -1") as info:
        check_setting(settings, "guidance_scale")
    assert info.value.field == "guidance_scale"
    settings.update(guidance_scale="0: (3) 5: (4)")
    with pytest.raises(SettingsError) as info:
        check_setting(settings, "guidance_scale")
    assert info.value.field == "guidance_scale"
    assert Settings(num_inference_steps="25").num_inference_steps == 25  # still a number
