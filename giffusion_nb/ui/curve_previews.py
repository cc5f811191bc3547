"""The previews whose curves are edited by hand: interpolation t and strength, and the frames
plot the other curve previews build on."""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import check_range, curve_values
from giffusion_nb.keyframes.plan import FramePlan, plan_frames
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.ui.curve_editor import CurveEditor, Span
from giffusion_nb.ui.curve_history import CurveHistory
from giffusion_nb.ui.feature_strip import FeatureStrip, curve_terms, preview_features
from giffusion_nb.ui.key_frame_thumbnails import KeyFrameThumbnails
from giffusion_nb.ui.pacing_view import PacingLines
from giffusion_nb.ui.plot import NOTE_COLOR, AudioOnsets, Markers, Plot, frames_text
from giffusion_nb.ui.plot import prompt_key_frames as read_key_frames
from giffusion_nb.validation import MOTION_FIELDS, check_setting

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

GESTURES = (
    "Drag a handle: up/down sets its value, left/right its frame · press the line to add a "
    "key frame · right-click or shift-click a handle to remove it"
)


class CurvePlot(Plot):
    """A preview with editable curves: their editors, Undo / Redo / Reset, and a hint line with
    the gestures, each curve's snapping, and the key frames the mouse cannot move."""

    def __init__(
        self,
        title: str,
        session: RenderSession,
        onsets: AudioOnsets,
        names: Iterable[str],
        figsize: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(title, *([figsize] if figsize else []))
        self.session, self.onsets = session, onsets
        self.history = CurveHistory(session, names)
        self.editors: dict[str, CurveEditor] = {}
        self.hint = widgets.HTML()
        self.hint.add_class("gnb-curve-hint")
        tools = widgets.VBox([self.history.widget, self.hint])
        tools.add_class(f"gnb-curve-tools-{title.lower()}")
        self.widget.children = (*self.widget.children, tools)

    @property
    def frozen(self) -> bool:
        """True while one of the curves' handles is dragged."""
        return any(editor.frozen for editor in self.editors.values())

    def _fit(self, ax: Axes) -> None:
        """After a mouse edit the view stays while the data is well inside it (the handle
        just placed stays under the mouse), else it refits; any other change fits y to the
        data."""
        editor = next((e for e in self.editors.values() if e.axes is ax), None)
        if editor is not None and editor.wrote_current():
            low, high = ax.get_ylim()
            inset = (high - low) * 0.02  # a handle on the edge would be half outside
            data_low, data_high = ax.dataLim.intervaly
            if low + inset <= data_low and data_high <= high - inset:
                return
        ax.autoscale_view(scalex=False)

    def _editor(self, ax: Axes, name: str, line: Line2D, color: str) -> CurveEditor:
        editor = CurveEditor(
            ax, name, self.history, line, color=color, on_change=lambda: self.update()
        )
        self.editors[name] = editor
        return editor

    def _hint(self, extra: str = "") -> None:
        """The gestures, snapping and what cannot be dragged, under the buttons."""
        active = {name: editor for name, editor in self.editors.items() if editor.active}
        lines = [GESTURES] if active else []
        if extra:
            lines.append(extra)
        if active:
            steps = " · ".join(editor.limits.describe() for editor in active.values())
            lines.append(f"Frames snap to whole frames; values snap: {steps}")
        for name, editor in active.items():
            for key in editor.expressions():
                lines.append(
                    f"key frame {key.frame} of {name} is an expression ({key.source}): drawn "
                    "hollow, not draggable; change it in the field"
                )
            for key in editor.hidden():
                lines.append(f"key frame {key.frame} of {name} is past the plot: type to move it")
            if editor.notice:
                lines.append(editor.notice)
        style = f"color: {NOTE_COLOR}; font-size: 0.9em"
        body = "<br>".join(html.escape(line) for line in lines)
        self.hint.value = f'<div style="{style}">{body}</div>' if lines else ""


class SchedulePreview(CurvePlot):
    """Interpolation t per frame over the whole animation, key frames marked; with
    ``interpolation_type=curve`` the curve's key frames are handles in every segment."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("Interpolation", session, onsets or AudioOnsets(), ["interpolation_args"])
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="t", ylim=(-0.05, 1.05))
        self.markers = Markers(self.axes)
        self.key_frame_lines = self.markers.key_frame_lines
        (self.line,) = self.axes.plot([], [], color="C0", marker=".", markersize=3)
        self.editor = self._editor(self.axes, "interpolation_args", self.line, "C0")
        self.strip = FeatureStrip(self.axes)
        self.pacing = PacingLines(self.axes)
        self.thumbnails = KeyFrameThumbnails(self.axes)
        self.key_frame_frames: list[int] = []

    def update(self) -> None:
        """Plot the plan's t; on a settings error keep the plot and show the error."""
        s = self.session.settings
        self.editor.features = features = preview_features(s)
        try:
            plan = self._plan(features)
        except SettingsError as err:
            self.editor.show(None, [])
            self._note(str(err), error=True)
            self._hint()
            return
        self.line.set_data(np.arange(plan.num_frames), plan.t)
        self.key_frame_frames = [key_frame.frame for key_frame in plan.key_frames]
        self.markers.set(self.key_frame_frames, self.onsets.onset_frames(s))
        self.thumbnails.set(plan.key_frames)
        pairs = itertools.pairwise(self.key_frame_frames)
        spans = [Span(start, end - start) for start, end in pairs]
        curve = s.interpolation_type == "curve"
        self.editor.show(s.interpolation_args if curve else None, spans)
        terms = curve_terms([s.interpolation_args]) if curve else []
        self.strip.show(terms, features, plan.num_frames)
        paced = self.pacing.show(self.session.pacing if s.pacing == "even" else None, plan)
        self._note(
            f"{s.interpolation_type}: {plan.num_frames} frames "
            f"({plan.num_frames / s.fps:.1f} s at {s.fps:g} fps), "
            f"key frames {frames_text(self.key_frame_frames)}{paced}"
        )
        if curve:
            self._hint("The curve is read from each key frame: its handles show in every segment.")
        else:
            self._hint("Choose curve under Interpolation to shape t with handles.")
        self._redraw([self.axes], plan.num_frames)

    def _plan(self, features: FrameFeatures | None) -> FramePlan:
        """The frames' t from the prompts and the interpolation settings alone (another
        invalid setting does not stop the curve's editing); audio through the session, which
        keeps the analysis."""
        s = self.session.settings
        if s.interpolation_type == "audio":
            return self.session.plan()
        check_setting(s, "fps")  # the note divides by it
        return plan_frames(
            parse_prompts(s.prompts),
            interpolation_type=s.interpolation_type,
            interpolation_args=s.interpolation_args,
            features=features,
        )


class _FramesPlot(CurvePlot):
    """A curve preview over the prompts' frames (the last known count while they are wrong)."""

    num_frames: int | None = None
    key_frame_frames: list[int]

    def _frames(self) -> SettingsError | None:
        try:
            self.key_frame_frames = read_key_frames(self.session.settings)
        except SettingsError as err:
            return err
        self.num_frames = self.key_frame_frames[-1] + 1
        return None


class StrengthPreview(_FramesPlot):
    """The init image's strength per frame; a plain number is one handle at frame 0 that moves
    up and down (the setting stays a number) until a press on the line adds a key frame."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("Strength", session, onsets or AudioOnsets(), ["strength"])
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="strength", ylim=(-0.05, 1.05))
        self.markers = Markers(self.axes)
        (self.line,) = self.axes.plot([], [], color="C4")
        self.editor = self._editor(self.axes, "strength", self.line, "C4")
        self.strip = FeatureStrip(self.axes)
        self.key_frame_frames = []

    def update(self) -> None:
        """Plot the strength of every frame; say when nothing uses it."""
        prompts_error = self._frames()
        if self.num_frames is None:
            self._note(str(prompts_error), error=True)
            return
        s, count = self.session.settings, self.num_frames
        self.markers.set(self.key_frame_frames, self.onsets.onset_frames(s))
        self.editor.features = features = preview_features(s)
        self.editor.show(s.strength, [Span(0, count - 1)])
        self.strip.show(curve_terms([s.strength]), features, count)
        try:
            self.line.set_data(np.arange(count), _strengths(s.strength, count, features))
        except SettingsError as err:
            self._note(str(err), error=True)
        else:
            moving = any(getattr(s, name).strip() for name in MOTION_FIELDS)
            unused = not (s.image_input or s.video_input or moving)
            self._note(
                str(prompts_error or "")
                or f"strength over {count} frames"
                + (" (unused now: no image or video input, no 2D motion)" if unused else ""),
                error=prompts_error is not None,
            )
        plain = not isinstance(s.strength, str)
        self._hint("A plain number: its handle moves up and down." if plain else "")
        self._redraw([self.axes], count)


def _strengths(strength: float | str, count: int, features: FrameFeatures | None) -> np.ndarray:
    if isinstance(strength, str):
        values = curve_values(strength, count, field="strength", features=features)
        check_range(values, 0.0, 1.0, field="strength")
        return values
    return np.full(count, float(strength))
