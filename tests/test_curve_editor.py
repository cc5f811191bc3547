"""Curves edited with the mouse: synthetic matplotlib mouse events on the previews' canvases."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_clicks
from matplotlib.backend_bases import MouseButton, MouseEvent

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.ui.curve_history import LIMIT
from giffusion_nb.ui.curve_limits import CURVE_LIMITS
from giffusion_nb.ui.panel import Panel
from giffusion_nb.ui.previews import Previews
from giffusion_nb.validation import check_setting

PROMPTS = "0: a corgi\n12: a lion\n30: a tiger"  # 31 frames
ZOOM = "0: (1.0), 12: (1.04), 30: (1.0)"


class Mouse:
    """Presses, moves and releases at data coordinates of one axes, as ipympl delivers them."""

    def __init__(self, ax) -> None:
        self.ax, self.canvas = ax, ax.figure.canvas
        self.canvas.draw()  # the layout the browser shows (pixels below use the same transforms)

    def _send(self, name: str, x: float, y: float, **kwargs) -> None:
        px, py = self.ax.transData.transform((x, y))  # events carry whole pixels
        event = MouseEvent(name, self.canvas, round(px), round(py), **kwargs)
        self.canvas.callbacks.process(name, event)

    def press(self, x, y, button=MouseButton.LEFT, modifiers=None) -> None:
        self._send("button_press_event", x, y, button=button, modifiers=modifiers)

    def move(self, x, y) -> None:
        self._send("motion_notify_event", x, y, buttons={MouseButton.LEFT})

    def release(self, x, y) -> None:
        self._send("button_release_event", x, y, button=MouseButton.LEFT)

    def drag(self, start, *path) -> None:
        self.press(*start)
        for point in path:
            self.move(*point)
        self.release(*path[-1])


def make(**values) -> tuple[RenderSession, Previews]:
    values.setdefault("prompts", PROMPTS)
    session = RenderSession(device="cpu", **values)
    return session, Previews(session)


def handles(editor) -> list[tuple[float, float]]:
    return list(zip(editor.handles.get_xdata(), editor.handles.get_ydata(), strict=True))


def test_a_drag_writes_the_string_as_the_handle_moves():
    session, previews = make(zoom=ZOOM)
    motion = previews.motion
    seen = []
    session.settings.observe(lambda change: seen.append(change["new"]), names="zoom")
    Mouse(motion.axes["zoom"]).drag((12, 1.04), (13.2, 1.05), (14.4, 1.0612))
    assert seen == ["0: (1.0), 13: (1.05), 30: (1.0)", "0: (1.0), 14: (1.06), 30: (1.0)"]
    assert session.settings.zoom == "0: (1.0), 14: (1.06), 30: (1.0)"
    assert handles(motion.editors["zoom"]) == [(0, 1.0), (14, 1.06), (30, 1.0)]
    assert motion.lines["zoom"].get_ydata()[14] == pytest.approx(1.06)
    assert motion.history.depth == (1, 0)


def test_frames_stay_between_the_neighbours_and_on_the_animation():
    session, previews = make(zoom=ZOOM)
    mouse = Mouse(previews.motion.axes["zoom"])
    mouse.drag((12, 1.04), (45, 1.04))
    assert session.settings.zoom == "0: (1.0), 29: (1.04), 30: (1.0)"
    mouse.drag((29, 1.04), (-8, 1.04))
    assert session.settings.zoom == "0: (1.0), 1: (1.04), 30: (1.0)"
    mouse.drag((30, 1.0), (60, 1.0))
    assert session.settings.zoom == "0: (1.0), 1: (1.04), 30: (1.0)"  # 30 is the last frame
    mouse.drag((0, 1.0), (-5, 1.0))
    assert session.settings.zoom == "0: (1.0), 1: (1.04), 30: (1.0)"


def test_key_frames_past_the_plot_are_named_and_a_bad_string_shows_no_handles():
    session, previews = make(zoom="0: (1.0), 40: (2.0)")
    editor = previews.motion.editors["zoom"]
    assert handles(editor) == [(0, 1.0)]
    assert "key frame 40 of zoom is past the plot" in previews.motion.hint.value
    session.settings.zoom = "0: (1.0"
    assert handles(editor) == [] and not editor.active
    assert "`zoom`" in previews.motion.message.value


def test_values_snap_to_the_settings_step_and_stay_inside_its_limits():
    session, previews = make(zoom=ZOOM, angle="0: (0), 30: (3)")
    mouse = Mouse(previews.motion.axes["zoom"])
    mouse.drag((12, 1.04), (12, -3.0))
    assert session.settings.zoom == "0: (1.0), 12: (0.01), 30: (1.0)"  # zoom stays above 0
    Mouse(previews.motion.axes["angle"]).drag((30, 3.0), (30, 2.3456))
    assert session.settings.angle == "0: (0), 30: (2.3)"
    session.settings.update(interpolation_type="curve", interpolation_args="0: (0), 12: (1)")
    Mouse(previews.schedule.axes).drag((12, 1.0), (12, 0.70001), (12, 1.9))
    assert session.settings.interpolation_args == "0: (0), 12: (1.0)"  # t stays in [0, 1]
    Mouse(previews.schedule.axes).drag((0, 0.0), (0, 0.333))
    assert session.settings.interpolation_args == "0: (0.33), 12: (1.0)"
    for name in ("zoom", "angle", "interpolation_args"):
        check_setting(session.settings, name)


def test_the_view_stays_put_during_a_drag_and_grows_after():
    session, previews = make(zoom=ZOOM)
    ax = previews.motion.axes["zoom"]
    mouse = Mouse(ax)
    before = ax.get_ylim()
    mouse.press(12, 1.04)
    mouse.move(12, 1.5)
    assert ax.get_ylim() == before and previews.motion.frozen
    mouse.release(12, 1.5)
    grown = ax.get_ylim()
    assert not previews.motion.frozen and grown[1] >= 1.5
    mouse.drag((12, 1.5), (12, 1.2))  # inside the view: it stays, the handle under the mouse
    assert ax.get_ylim() == grown
    session.settings.zoom = "0: (1.0), 12: (1.01)"  # typed: y fits the data again
    assert ax.get_ylim()[1] < 1.1


def test_a_press_on_the_line_adds_a_key_frame_and_drags_it():
    session, previews = make(zoom="0: (1.0), 30: (1.3)")
    mouse = Mouse(previews.motion.axes["zoom"])
    mouse.press(10, 1.1)  # on the line
    assert session.settings.zoom == "0: (1.0), 10: (1.1), 30: (1.3)"
    mouse.move(10, 1.2)
    mouse.release(10, 1.2)
    assert session.settings.zoom == "0: (1.0), 10: (1.2), 30: (1.3)"
    previews.motion.history.undo()  # adding and dragging were one step
    assert session.settings.zoom == "0: (1.0), 30: (1.3)"
    mouse.drag((20, 1.0), (21, 1.5))  # away from the line and the handles: nothing
    assert session.settings.zoom == "0: (1.0), 30: (1.3)"


def test_an_empty_motion_curve_starts_at_the_still_value():
    session, previews = make()
    Mouse(previews.motion.axes["translate_x"]).drag((8, 0.0), (8, 4.04))
    assert session.settings.translate_x == "0: (0.0), 8: (4.0)"
    assert session.settings.zoom == ""  # the other curves are untouched


def test_right_click_or_shift_click_removes_a_key_frame():
    session, previews = make(zoom=ZOOM, strength="0: (0.4), 20: (0.8)")
    mouse = Mouse(previews.motion.axes["zoom"])
    mouse.press(12, 1.04, button=MouseButton.RIGHT)
    assert session.settings.zoom == "0: (1.0), 30: (1.0)"
    mouse.press(30, 1.0, modifiers={"shift"})
    mouse.press(0, 1.0, button=MouseButton.RIGHT)
    assert session.settings.zoom == ""  # no key frames: no motion
    assert previews.motion.history.depth == (3, 0)
    strength = Mouse(previews.strength.axes)
    strength.press(20, 0.8, button=MouseButton.RIGHT)
    strength.press(0, 0.4, button=MouseButton.RIGHT)
    assert session.settings.strength == "0: (0.4)"  # a strength needs one key frame
    assert "needs at least one key frame" in previews.strength.hint.value


def test_undo_and_redo_more_than_twenty_steps_then_reset():
    session, previews = make(zoom=ZOOM)
    history, mouse = previews.motion.history, Mouse(previews.motion.axes["zoom"])
    strings = [session.settings.zoom]
    for step in range(1, 26):
        value = 1.04 + step * 0.01
        mouse.drag((12, value - 0.01), (12, value))
        strings.append(session.settings.zoom)
    assert len(set(strings)) == 26 and history.depth == (25, 0) and LIMIT >= 25
    for expected in reversed(strings[:-1]):
        history.undo()
        assert session.settings.zoom == expected
    for expected in strings[1:]:
        history.redo()
        assert session.settings.zoom == expected
    history.reset()
    assert session.settings.zoom == ZOOM and history.reset_button.disabled
    history.undo()  # Reset is a step of its own
    assert session.settings.zoom == strings[-1]


def test_typing_moves_the_handles_and_starts_the_history_afresh():
    session = RenderSession(device="cpu", prompts=PROMPTS, zoom=ZOOM)
    panel = Panel(session)
    motion, field = panel.previews.motion, panel.fields["zoom"].widget
    Mouse(motion.axes["zoom"]).drag((12, 1.04), (12, 1.1))
    assert field.value == "0: (1.0), 12: (1.1), 30: (1.0)"  # the field follows the drag
    assert not motion.history.undo_button.disabled
    field.value = "0: (1.0), 20: (1.5)"
    assert handles(motion.editors["zoom"]) == [(0, 1.0), (20, 1.5)]
    assert motion.history.undo_button.disabled and motion.history.reset_button.disabled
    Mouse(motion.axes["zoom"]).drag((20, 1.5), (22, 1.5))
    motion.history.reset()
    assert field.value == "0: (1.0), 20: (1.5)"  # Reset goes back to what was typed


def test_expression_key_frames_are_drawn_but_stay_put():
    session, previews = make(translate_x="0: (0), 10: (t*2), 20: (5)")
    editor, mouse = (
        previews.motion.editors["translate_x"],
        Mouse(previews.motion.axes["translate_x"]),
    )
    assert handles(editor) == [(0, 0.0), (20, 5.0)]
    assert list(editor.fixed_handles.get_xydata().tolist()) == [[10.0, 20.0]]
    mouse.drag((10, 20.0), (14, 30.0))
    assert session.settings.translate_x == "0: (0), 10: (t*2), 20: (5)"
    hint = previews.motion.hint.value
    assert "key frame 10 of translate_x is an expression (t*2)" in hint
    assert "not draggable" in hint
    mouse.drag((20, 5.0), (3, 5.0))  # not past the expression
    assert session.settings.translate_x == "0: (0), 10: (t*2), 11: (5.0)"


def test_the_interpolation_curve_has_handles_in_every_segment():
    prompts = "0: a corgi\n10: a lion\n25: a tiger"
    session, previews = make(prompts=prompts, interpolation_type="curve")
    session.settings.interpolation_args = "0: (0), 10: (1)"
    editor, mouse = previews.schedule.editor, Mouse(previews.schedule.axes)
    assert handles(editor) == [(0, 0.0), (10, 0.0), (10, 1.0), (20, 1.0)]
    mouse.drag((20, 1.0), (22.2, 0.9))  # the copy in the second segment
    assert session.settings.interpolation_args == "0: (0), 12: (0.9)"
    assert handles(editor) == [(0, 0.0), (10, 0.0), (22, 0.9)]  # 12 is past the first segment
    mouse.drag((22, 0.9), (40, 0.9))
    assert session.settings.interpolation_args == "0: (0), 15: (0.9)"  # the segment's end
    t = previews.schedule.line.get_ydata()
    np.testing.assert_allclose(t[10:25], np.arange(15) * 0.06)
    session.settings.interpolation_type = "linear"
    assert handles(editor) == [] and "Choose curve" in previews.schedule.hint.value


def test_a_plain_strength_moves_up_and_down_and_stays_a_number():
    session, previews = make(strength=0.5)
    mouse = Mouse(previews.strength.axes)
    mouse.drag((0, 0.5), (9, 0.72))
    assert session.settings.strength == 0.72  # a number still, at frame 0
    mouse.press(12, 0.72)  # on the line: the number becomes key frame 0
    mouse.move(12, 0.3)
    mouse.release(12, 0.3)
    assert session.settings.strength == "0: (0.72), 12: (0.3)"
    np.testing.assert_allclose(previews.strength.line.get_ydata()[[0, 12, 30]], [0.72, 0.3, 0.3])


def test_key_frames_and_onsets_are_marked_on_every_curve_preview(tmp_path):
    wav = write_clicks(tmp_path / "clicks.wav", (0.5, 1.3), 2.0, 22050)
    session, previews = make(fps=10)
    axes_markers = [previews.schedule.markers, previews.strength.markers]
    axes_markers += list(previews.motion.markers.values())
    for markers in axes_markers:
        assert [seg[0][0] for seg in markers.key_frame_lines.get_segments()] == [0, 12, 30]
        assert len(markers.onsets.get_xdata()) == 0
    session.settings.audio_input = str(wav)
    onsets = previews.audio.onset_frames
    assert len(onsets) == 2
    for markers in axes_markers:
        assert list(markers.onsets.get_xdata()) == onsets


def test_pan_and_zoom_modes_leave_the_handles_alone():
    session, previews = make(zoom=ZOOM)
    motion = previews.motion
    motion.canvas.toolbar.pan()
    Mouse(motion.axes["zoom"]).drag((12, 1.04), (20, 1.2))
    assert session.settings.zoom == ZOOM
    motion.canvas.toolbar.pan()  # off again
    motion.canvas.toolbar.home()  # the view from before the pan
    Mouse(motion.axes["zoom"]).drag((12, 1.04), (20, 1.2))
    assert session.settings.zoom == "0: (1.0), 20: (1.2), 30: (1.0)"


def test_figures_and_artists_are_kept_through_edits():
    session, previews = make(zoom=ZOOM)
    motion = previews.motion
    figure, handle_line = motion.figure, motion.editors["zoom"].handles
    counts = [len(ax.lines) + len(ax.collections) for ax in figure.axes]
    mouse = Mouse(motion.axes["zoom"])
    mouse.drag((12, 1.04), (15, 1.2))
    mouse.press(15, 1.2, button=MouseButton.RIGHT)
    session.settings.zoom = "0: (2)"
    assert motion.figure is figure and motion.editors["zoom"].handles is handle_line
    assert [len(ax.lines) + len(ax.collections) for ax in figure.axes] == counts


def _valid(settings, name: str, value) -> bool:
    setattr(settings, name, value)
    try:
        check_setting(settings, name)
    except SettingsError:
        return False
    return True


def test_the_limits_table_agrees_with_validation():
    session, _ = make(interpolation_type="curve")
    s = session.settings
    for name, limits in CURVE_LIMITS.items():
        s.update(zoom="0: (1.01)", anti_blur_amount="0.2")  # read by the init treatment's
        s.perspective_flip_theta = "0: (1)"  # the field of view needs a flip angle to act on
        lowest = limits.snap(-1e9)
        assert _valid(s, name, f"0: ({lowest}), 30: ({limits.snap(1e9)})"), name
        below = lowest - limits.step
        if limits.above is not None or np.isfinite(limits.low):
            assert not _valid(s, name, f"0: ({below})"), name
        if np.isfinite(limits.high):
            assert not _valid(s, name, f"0: ({limits.high + limits.step})"), name
        assert (limits.still is None) == (not _valid(s, name, "")), name


def test_the_audio_a_curve_reads_is_drawn_beneath_it_and_numbers_stay_draggable(tmp_path):
    from giffusion_nb.keyframes.audio_terms import AudioTerm
    from giffusion_nb.media.audio_features import frame_features

    clicks = write_clicks(tmp_path / "clicks.wav", [0.5, 1.5, 2.5], 3.1)
    zoom = "0: (1.0 + 0.05*onset(0, 0.2)), 20: (1.0), 30: (1.02)"
    session, previews = make(zoom=zoom, audio_input=str(clicks), fps=10)
    motion, editor = previews.motion, previews.motion.editors["zoom"]
    strip = motion.strips["zoom"]
    expected = frame_features(clicks, 10).values(AudioTerm("onset", release=0.2), np.arange(31))
    assert strip.terms == [AudioTerm("onset", release=0.2)]
    assert np.allclose(strip.lines[0].get_ydata(), expected * 0.3)  # the bottom 30 %
    assert strip.label.get_text() == "audio beneath (0–1): onset(0, 0.2)"
    assert len(strip.lines[1].get_xdata()) == 0  # one term, one line
    # the curve drawn is the one computed from that feature
    assert np.allclose(motion.lines["zoom"].get_ydata()[:20], 1.0 + 0.05 * expected[:20])
    assert np.flatnonzero(np.diff(motion.lines["zoom"].get_ydata()[:20]) > 0).tolist() == [4, 14]
    # the expression is drawn hollow at its value; the numbers are handles that drag
    assert editor.fixed_handles.get_xydata().tolist() == [[0.0, 1.0 + 0.05 * expected[0]]]
    assert handles(editor) == [(20, 1.0), (30, 1.02)]
    Mouse(motion.axes["zoom"]).drag((30, 1.02), (30, 1.03))
    assert session.settings.zoom == "0: (1.0 + 0.05*onset(0, 0.2)), 20: (1.0), 30: (1.03)"
    # other curves read no audio: nothing drawn beneath them
    assert motion.strips["angle"].terms == [] and motion.strips["angle"].label.get_text() == ""


def test_strength_and_interpolation_previews_show_their_features(tmp_path):
    clicks = write_clicks(tmp_path / "clicks.wav", [0.5, 1.5], 3.1)
    session, previews = make(
        audio_input=str(clicks),
        fps=10,
        strength="0: (0.3 + 0.5*amp)",
        interpolation_type="curve",
        interpolation_args="0: (min(1, beat + 0.5*onset))",
    )
    assert [term.name for term in previews.strength.strip.terms] == ["amp"]
    assert [term.name for term in previews.schedule.strip.terms] == ["beat", "onset"]
    assert previews.strength.line.get_ydata().max() == pytest.approx(0.8, abs=0.01)
    session.settings.audio_input = ""  # the field says why; the previews draw no audio
    assert (
        previews.strength.strip.terms == [] and "no audio input" in previews.strength.message.value
    )
