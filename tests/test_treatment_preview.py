"""The init treatment's preview: each schedule plotted per frame (the kernel from sigma when
empty), errors and unread settings said under the plot, handles that write the strings."""

from __future__ import annotations

import numpy as np
from test_curve_editor import Mouse

from giffusion_nb import RenderSession
from giffusion_nb.ui.previews import Previews
from giffusion_nb.ui.treatment_preview import TreatmentPreview

PROMPTS = "0: a corgi\n10: a lion"  # 11 frames


def _session(**values) -> RenderSession:
    return RenderSession(device="cpu", prompts=PROMPTS, **values)


def test_the_schedules_are_plotted_per_frame_and_the_kernel_follows_sigma():
    session = _session(
        zoom="0: (1.02)",
        noise_schedule="0: (0.01), 10: (0.05)",
        anti_blur_amount="0: (0), 4: (0.5)",
        anti_blur_sigma="0: (1), 10: (2)",
    )
    preview = TreatmentPreview(session)
    preview.update()
    lines, frames = preview.lines, np.arange(11)
    for line in lines.values():
        np.testing.assert_array_equal(line.get_xdata(), frames)
    np.testing.assert_allclose(lines["noise_schedule"].get_ydata(), np.linspace(0.01, 0.05, 11))
    np.testing.assert_allclose(lines["contrast_schedule"].get_ydata(), np.ones(11))
    np.testing.assert_allclose(
        lines["anti_blur_amount"].get_ydata()[[0, 2, 4, 10]], [0, 0.25, 0.5, 0.5]
    )
    sigma = np.linspace(1, 2, 11)
    np.testing.assert_allclose(lines["anti_blur_sigma"].get_ydata(), sigma)
    expected = 2 * np.ceil(3 * sigma - 1e-9) + 1
    np.testing.assert_array_equal(lines["anti_blur_kernel"].get_ydata(), expected)
    np.testing.assert_allclose(lines["anti_blur_threshold"].get_ydata(), np.zeros(11))
    assert preview.axes["noise_schedule"].get_ylim()[1] >= 0.05
    assert "init treatment over 11 frames" in preview.message.value
    assert "unused" not in preview.message.value
    assert "anti_blur_kernel" not in preview.editors  # odd numbers: plotted, not dragged


def test_the_preview_follows_the_settings_and_says_what_is_wrong():
    session = _session()
    previews = Previews(session)
    preview = previews.treatment
    assert "no init treatment" in preview.message.value
    session.settings.contrast_schedule = "0: (1), 10: (0.5)"
    np.testing.assert_allclose(
        preview.lines["contrast_schedule"].get_ydata(), np.linspace(1, 0.5, 11)
    )
    assert "(unused now: no 2D motion)" in preview.message.value
    session.settings.anti_blur_kernel = "0: (3), 10: (5)"
    assert "`anti_blur_kernel`: frame 1 has kernel 3.2" in preview.message.value
    session.settings.anti_blur_kernel = "0: (3), 9: (3), 10: (5)"
    assert preview.lines["anti_blur_kernel"].get_ydata().tolist() == [3] * 10 + [5]
    session.settings.contrast_schedule = "0: (1), 10: (-1)"
    assert "`contrast_schedule`: frame 5 has 0; expected a value above 0" in preview.message.value
    np.testing.assert_allclose(  # the last good curve stays
        preview.lines["contrast_schedule"].get_ydata(), np.linspace(1, 0.5, 11)
    )


def test_a_handle_drag_writes_the_noise_schedule():
    session = _session(zoom="0: (1.02)", noise_schedule="0: (0.02), 10: (0.02)")
    previews = Previews(session)
    preview = previews.treatment
    Mouse(preview.axes["noise_schedule"]).drag((10, 0.02), (10, 0.04))
    assert session.settings.noise_schedule == "0: (0.02), 10: (0.04)"
    assert preview.lines["noise_schedule"].get_ydata()[10] == 0.04
