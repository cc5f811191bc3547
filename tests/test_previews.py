"""Tests for giffusion_nb.ui.previews: the plotted data, in-place redraws and messages."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from helpers import write_clicks
from ipympl.backend_nbagg import Canvas
from matplotlib._pylab_helpers import Gcf
from PIL import Image

from giffusion_nb import RenderSession, Settings
from giffusion_nb.keyframes.schedules import sine_schedule
from giffusion_nb.ui.curve_previews import SchedulePreview
from giffusion_nb.ui.motion_preview import MotionPreview
from giffusion_nb.ui.previews import AudioPreview, Previews

SAMPLE_RATE = 22050
DURATION = 2.0
CLICKS = (0.5, 1.3)


def make_session(**values) -> RenderSession:
    values.setdefault("prompts", "0: a corgi\n10: a lion\n25: a tiger")
    return RenderSession(device="cpu", **values)


def vline_xs(lines) -> list[float]:
    return [float(segment[0][0]) for segment in lines.get_segments()]


def artist_counts(figure) -> list[int]:
    counts = [len(figure.axes), len(figure.texts), len(figure.legends)]
    for ax in figure.axes:
        counts += [len(ax.lines), len(ax.collections), len(ax.texts), len(ax.patches)]
    return counts


@pytest.fixture(scope="module")
def clicks_wav(tmp_path_factory):
    """Two seconds of silence with short noise bursts at CLICKS."""
    path = tmp_path_factory.mktemp("audio") / "clicks.wav"
    return str(write_clicks(path, CLICKS, DURATION, SAMPLE_RATE))


# --- interpolation -----------------------------------------------------------------------------


def test_schedule_plots_the_plan():
    session = make_session()
    preview = SchedulePreview(session)
    preview.update()
    plan = session.plan()
    np.testing.assert_array_equal(preview.line.get_xdata(), np.arange(26))
    np.testing.assert_allclose(preview.line.get_ydata(), [step.t for step in plan.steps])
    assert preview.key_frame_frames == [0, 10, 25]
    assert vline_xs(preview.key_frame_lines) == [0, 10, 25]
    assert preview.axes.get_xlabel() == "frame" and preview.axes.get_ylabel() == "t"
    assert preview.axes.get_xlim() == (-0.5, 25.5)
    assert "26 frames" in preview.message.value


def test_key_frame_images_show_as_thumbnails_above_their_key_frames(tmp_path):
    red, tall = tmp_path / "red.png", tmp_path / "tall.png"
    Image.new("RGB", (64, 64), (220, 30, 30)).save(red)
    Image.new("RGB", (40, 80), (30, 40, 220)).save(tall)
    session = make_session(prompts=f"0: a --image {red}\n8: b\n16: --image {tall}")
    preview = SchedulePreview(session)
    preview.update()
    boxes = preview.thumbnails.boxes
    assert [box.xy[0] for box in boxes] == [0, 16]
    first, second = (np.asarray(box.offsetbox.get_data()) for box in boxes)
    assert first.shape == (32, 32, 3) and first[0, 0].tolist() == [220, 30, 30]
    assert second.shape == (32, 16, 3) and second[0, 0].tolist() == [30, 40, 220]
    session.settings.prompts = "0: a\n8: b"
    preview.update()
    assert preview.thumbnails.boxes == []


def test_widget_is_the_canvas_without_pyplot():
    before = Gcf.get_num_fig_managers()
    previews = Previews(make_session())
    assert Gcf.get_num_fig_managers() == before
    shown = (previews.schedule, previews.motion, previews.strength, previews.lora, previews.audio)
    for preview in (*shown, previews.treatment, previews.sampling):
        canvas = preview.widget.children[0]
        assert isinstance(canvas, Canvas) and canvas is preview.figure.canvas
        assert canvas.header_visible is False and canvas.toolbar is not None
        preview.figure.savefig(io.BytesIO(), format="png")  # the artists draw
    assert previews.widget.titles == (
        "Interpolation",
        "Motion",
        "Strength",
        "LoRA",
        "Audio",
        "Treatment",
        "Sampling",
        "Camera",
    )


def test_observed_prompts_redraw_in_place():
    session = make_session()
    previews = Previews(session)
    preview = previews.schedule
    figure, line, lines, counts = preview.figure, preview.line, preview.key_frame_lines, None
    for last in (12, 30, 7, 40):
        session.settings.prompts = f"0: a corgi\n{last // 2}: a fox\n{last}: a lion"
        plan = session.plan()
        assert preview.line.get_xdata().tolist() == list(range(last + 1))
        np.testing.assert_allclose(preview.line.get_ydata(), [step.t for step in plan.steps])
        assert preview.key_frame_frames == [0, last // 2, last]
        assert vline_xs(preview.key_frame_lines) == [0, last // 2, last]
        assert previews.motion.lines["zoom"].get_xdata().tolist() == list(range(last + 1))
        assert preview.figure is figure and preview.line is line
        assert preview.key_frame_lines is lines
        assert counts in (None, artist_counts(figure))
        counts = artist_counts(figure)
    assert preview.widget.children[0] is figure.canvas


def test_sine_arguments_change_t():
    session = make_session(prompts="0: a corgi\n20: a lion")
    previews = Previews(session)
    linear = previews.schedule.line.get_ydata().copy()
    session.settings.update(interpolation_type="sine", interpolation_args="2")
    sine = previews.schedule.line.get_ydata()
    np.testing.assert_allclose(sine[:20], sine_schedule(21, [2.0])[:20])
    assert not np.allclose(sine, linear)
    assert "sine" in previews.schedule.message.value


def test_bad_prompts_keep_the_plot_and_show_the_error():
    session = make_session()
    previews = Previews(session)
    x, y = previews.schedule.line.get_xdata().copy(), previews.schedule.line.get_ydata().copy()
    session.settings.prompts = "zero: a corgi"
    message = previews.schedule.message.value
    assert "`prompts`" in message and "#c0392b" in message
    np.testing.assert_array_equal(previews.schedule.line.get_xdata(), x)
    np.testing.assert_array_equal(previews.schedule.line.get_ydata(), y)
    assert previews.schedule.key_frame_frames == [0, 10, 25]
    session.settings.prompts = "0: a corgi\n5: a lion"
    assert "#c0392b" not in previews.schedule.message.value
    assert previews.schedule.line.get_xdata().tolist() == list(range(6))


def test_the_schedule_needs_only_its_own_settings():
    session = make_session(image_input="/nowhere.png", fps=0)
    previews = Previews(session)
    assert "`fps`" in previews.schedule.message.value  # the note reads it
    session.settings.fps = 10
    assert "26 frames" in previews.schedule.message.value  # the missing image is not its error


def test_a_first_update_with_bad_settings_only_shows_the_message():
    preview = SchedulePreview(make_session(prompts="oops"))
    preview.update()
    assert "`prompts`" in preview.message.value
    assert len(preview.line.get_xdata()) == 0 and preview.key_frame_frames == []


# --- motion ------------------------------------------------------------------------------------


def test_motion_curves():
    session = make_session(prompts="0: a corgi\n10: a lion", zoom="0: (1.0), 10: (1.5)")
    session.settings.translate_x = "0: (t*2)"
    preview = MotionPreview(session)
    preview.update()
    frames = np.arange(11)
    for line in preview.lines.values():
        np.testing.assert_array_equal(line.get_xdata(), frames)
    np.testing.assert_allclose(preview.lines["zoom"].get_ydata(), np.linspace(1.0, 1.5, 11))
    np.testing.assert_allclose(preview.lines["translate_x"].get_ydata(), 2.0 * frames)
    np.testing.assert_allclose(preview.lines["angle"].get_ydata(), np.zeros(11))
    np.testing.assert_allclose(preview.lines["translate_y"].get_ydata(), np.zeros(11))
    low, high = preview.axes["zoom"].get_ylim()
    assert low <= 1.0 and high >= 1.5
    assert preview.axes["translate_x"].get_ylim()[1] >= 20.0
    for ax in preview.axes.values():
        assert ax.get_xlim() == (-0.5, 10.5)


def test_motion_draws_the_perspective_flip_and_its_errors():
    session = make_session(prompts="0: a corgi\n10: a lion", perspective_flip_phi="0: (0), 10: (5)")
    preview = MotionPreview(session)
    preview.update()
    phi, fv = preview.lines["perspective_flip_phi"], preview.lines["perspective_flip_fv"]
    np.testing.assert_allclose(phi.get_ydata(), np.linspace(0, 5, 11))
    np.testing.assert_allclose(fv.get_ydata(), np.full(11, 53.0))  # empty: Deforum's 53
    assert "2D motion over 11 frames" in preview.message.value
    session.settings.perspective_flip_gamma = "0: (95)"
    preview.update()
    assert "`perspective_flip_gamma`" in preview.message.value


def test_motion_follows_observed_settings_and_reports_bad_zoom():
    session = make_session(prompts="0: a corgi\n10: a lion")
    previews = Previews(session)
    zoom = previews.motion.lines["zoom"]
    np.testing.assert_allclose(zoom.get_ydata(), np.ones(11))
    assert "no 2D motion" in previews.motion.message.value
    session.settings.zoom = "0: (1.0), 10: (2.0)"
    np.testing.assert_allclose(zoom.get_ydata(), np.linspace(1.0, 2.0, 11))
    session.settings.zoom = "0: (1.0"
    assert "`zoom`" in previews.motion.message.value
    np.testing.assert_allclose(previews.motion.lines["zoom"].get_ydata(), np.linspace(1, 2, 11))
    assert previews.motion.lines["zoom"] is zoom


def test_motion_keeps_the_last_frame_count_when_prompts_break():
    session = make_session(prompts="0: a corgi\n10: a lion")
    previews = Previews(session)
    session.settings.prompts = "0 a corgi"
    session.settings.angle = "0: (3)"
    np.testing.assert_allclose(previews.motion.lines["angle"].get_ydata(), np.full(11, 3.0))
    assert "`prompts`" in previews.motion.message.value


# --- LoRA --------------------------------------------------------------------------------------


def test_lora_scales_are_drawn_per_adapter():
    session = make_session(prompts="0: a corgi\n10: a lion")
    previews = Previews(session)
    preview = previews.lora
    assert "no LoRA adapters" in preview.message.value
    session.settings.lora = "styles/ink.safetensors @ 0: (0), 10: (1)\nowner/name @ -0.5"
    ink, hub = preview.lines
    np.testing.assert_allclose(ink.get_ydata(), np.linspace(0, 1, 11))
    np.testing.assert_allclose(hub.get_ydata(), np.full(11, -0.5))
    np.testing.assert_array_equal(ink.get_xdata(), np.arange(11))
    legend = [text.get_text() for text in preview.axes.get_legend().get_texts()]
    assert legend == ["ink.safetensors", "owner/name"]
    assert "2 adapters over 11 frames, 1 with a changing scale" in preview.message.value
    assert vline_xs(preview.markers.key_frame_lines) == [0, 10]
    low, high = preview.axes.get_ylim()
    assert low <= -0.5 and high >= 1.0
    session.settings.lora = "owner/name @ 0: (0), 4: (9)"
    assert "`lora`, line 1: the scale: frame 2 has value 4.5" in preview.message.value
    np.testing.assert_allclose(ink.get_ydata(), np.linspace(0, 1, 11))  # the last good curve
    session.settings.lora = "owner/name @ 2"
    assert preview.lines[0] is ink and len(hub.get_xdata()) == 0
    np.testing.assert_allclose(ink.get_ydata(), np.full(11, 2.0))


# --- audio -------------------------------------------------------------------------------------


def test_no_audio_input():
    previews = Previews(make_session())
    assert "no audio input" in previews.audio.message.value
    assert previews.audio.canvas.layout.display == "none"  # a sentence, not empty axes
    assert len(previews.audio.line.get_xdata()) == 0
    assert previews.audio.onset_frames == [] and previews.audio.envelope is None


def test_audio_envelope_onsets_and_fps(clicks_wav):
    session = make_session(prompts="0: a corgi\n8: a lion", fps=10)
    previews = Previews(session)
    preview = previews.audio
    line = preview.line
    session.settings.audio_input = clicks_wav
    assert preview.canvas.layout.display is None
    x = preview.line.get_xdata()
    assert x.max() == pytest.approx(DURATION * 10, abs=1)
    assert len(preview.line.get_ydata()) == len(x) and np.max(preview.line.get_ydata()) > 0
    onsets = preview.onset_frames
    assert len(onsets) == len(CLICKS)
    for onset, time in zip(onsets, CLICKS, strict=True):
        assert abs(onset - round(time * 10)) <= 1
    assert vline_xs(preview.key_frame_lines) == [0, 8]
    assert preview.axes.get_xlim()[1] >= DURATION * 10 - 1
    assert "onsets" in preview.message.value

    session.settings.fps = 20
    assert preview.line.get_xdata().max() == pytest.approx(DURATION * 20, abs=1)
    for onset, time in zip(preview.onset_frames, CLICKS, strict=True):
        assert abs(onset - round(time * 20)) <= 1
    assert preview.axes.get_xlim()[1] >= DURATION * 20 - 1
    assert preview.line is line and len(preview.axes.lines) == 2

    session.settings.audio_input = ""
    assert "no audio input" in preview.message.value
    assert preview.canvas.layout.display == "none"
    assert len(preview.line.get_xdata()) == 0 and preview.onset_frames == []


def test_audio_analysis_is_cached(clicks_wav, monkeypatch):
    from giffusion_nb.ui import plot as module

    calls = []
    original = module.onset_envelope

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(module, "onset_envelope", counting)
    session = make_session(audio_input=clicks_wav, fps=10)
    previews = Previews(session)  # every preview marks the onsets: one analysis for all
    assert len(calls) == 1
    session.settings.prompts = "0: a corgi\n12: a lion"
    assert vline_xs(previews.audio.key_frame_lines) == [0, 12]
    assert len(calls) == 1
    session.settings.audio_component = "both"
    assert len(calls) == 2


def test_bad_audio_file_shows_the_error(tmp_path):
    bad = tmp_path / "not-audio.wav"
    bad.write_bytes(b"this is not audio")
    preview = AudioPreview(make_session(audio_input=str(bad)))
    preview.update()
    assert "`audio_input`" in preview.message.value


# --- syncing -----------------------------------------------------------------------------------


def count_updates(previews, monkeypatch) -> dict[str, int]:
    counts = {"schedule": 0, "motion": 0, "strength": 0, "lora": 0, "audio": 0}
    for name in counts:
        preview = getattr(previews, name)
        original = preview.update

        def update(name=name, original=original):
            counts[name] += 1
            original()

        monkeypatch.setattr(preview, "update", update)
    return counts


def test_only_the_previews_that_follow_a_setting_update(monkeypatch):
    session = make_session()
    previews = Previews(session)
    counts = count_updates(previews, monkeypatch)
    session.settings.zoom = "0: (1.1)"
    assert counts == {"schedule": 0, "motion": 1, "strength": 1, "lora": 0, "audio": 0}
    session.settings.interpolation_args = "2"
    assert counts == {"schedule": 1, "motion": 1, "strength": 1, "lora": 0, "audio": 0}
    session.settings.strength = 0.7
    assert counts == {"schedule": 1, "motion": 1, "strength": 2, "lora": 0, "audio": 0}
    session.settings.seed = 7
    assert counts == {"schedule": 1, "motion": 1, "strength": 2, "lora": 0, "audio": 0}
    session.settings.lora = "owner/name @ 0.5"
    assert counts == {"schedule": 1, "motion": 1, "strength": 2, "lora": 1, "audio": 0}


def test_changes_on_a_running_loop_are_coalesced(monkeypatch):
    session = make_session()
    previews = Previews(session)
    counts = count_updates(previews, monkeypatch)

    async def edit():
        session.settings.update(prompts="0: a corgi\n14: a lion", zoom="0: (1.2)", fps=12)
        assert counts == {"schedule": 0, "motion": 0, "strength": 0, "lora": 0, "audio": 0}
        await asyncio.sleep(0)

    asyncio.run(edit())
    assert counts == {"schedule": 1, "motion": 1, "strength": 1, "lora": 1, "audio": 1}
    assert previews.schedule.line.get_xdata().tolist() == list(range(15))


def test_close_stops_following():
    session = make_session()
    previews = Previews(session)
    previews.close()
    session.settings.prompts = "0: a corgi\n3: a lion"
    assert previews.schedule.line.get_xdata().tolist() == list(range(26))
    previews.refresh()
    assert previews.schedule.line.get_xdata().tolist() == list(range(4))


def test_replaced_settings_are_followed():
    session = make_session()
    previews = Previews(session)
    old = session.settings
    session.settings = Settings(prompts="0: a corgi\n4: a lion")
    assert previews.schedule.line.get_xdata().tolist() == list(range(5))
    old.prompts = "0: a corgi\n50: a lion"
    assert previews.schedule.line.get_xdata().tolist() == list(range(5))
    session.settings.prompts = "0: a corgi\n6: a lion"
    assert previews.schedule.line.get_xdata().tolist() == list(range(7))
