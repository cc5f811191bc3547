"""Live ipympl plots of a session's interpolation schedule, 2D motion and audio onsets."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
from ipympl.backend_nbagg import Canvas, FigureManager
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.media.audio import OnsetEnvelope, onset_envelope
from giffusion_nb.media.motion import motion_schedule

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

_FIGSIZE = (6.0, 2.2)
_ERROR_COLOR = "#c0392b"
_NOTE_COLOR = "#666666"
_KEY_FRAME_STYLE = {"colors": "0.55", "linestyles": "--", "linewidths": 1.0}
_figure_numbers = itertools.count(1)


class _Plot:
    """One figure, made once, shown as an ipympl canvas above a one-line message."""

    def __init__(self, title: str) -> None:
        self.figure = Figure(figsize=_FIGSIZE, layout="constrained")
        self.canvas = Canvas(self.figure)
        # The manager gives the canvas its toolbar; no pyplot registry, nothing displayed.
        FigureManager(self.canvas, next(_figure_numbers)).set_window_title(title)
        self.canvas.header_visible = False
        self.canvas.footer_visible = False
        self.canvas.toolbar_visible = "fade-in-fade-out"
        self.message = widgets.HTML()
        self.widget = widgets.VBox([self.canvas, self.message])

    def _note(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` under the plot (red for an error); empty text clears the line."""
        if not text:
            self.message.value = ""
            return
        color = _ERROR_COLOR if error else _NOTE_COLOR
        self.message.value = f'<span style="color: {color}">{html.escape(text)}</span>'

    def _redraw(self, axes: Iterable[Axes], num_frames: float) -> None:
        """Fit x to frames 0..num_frames-1 and y to the data, then ask the browser to redraw."""
        for ax in axes:
            ax.set_xlim(-0.5, max(num_frames, 1) - 0.5)
            ax.relim()
            ax.autoscale_view(scalex=False)
        self.canvas.toolbar.update()  # the toolbar's "home" is the new view
        self.canvas.draw_idle()


def _vlines(ax: Axes, **style: Any) -> LineCollection:
    """An empty set of full-height vertical lines, kept out of autoscaling."""
    lines = LineCollection([], transform=ax.get_xaxis_transform(), **style)
    ax.add_collection(lines, autolim=False)
    return lines


def _set_vlines(lines: LineCollection, xs: Iterable[float]) -> None:
    lines.set_segments([[(x, 0.0), (x, 1.0)] for x in xs])


def _frames_text(frames: Sequence[int], limit: int = 12) -> str:
    shown = ", ".join(str(frame) for frame in frames[:limit])
    return shown + (", …" if len(frames) > limit else "")


class SchedulePreview(_Plot):
    """Interpolation t per frame over the whole animation, key frames marked."""

    def __init__(self) -> None:
        super().__init__("Interpolation")
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="t", ylim=(-0.05, 1.05))
        self.key_frame_lines = _vlines(self.axes, **_KEY_FRAME_STYLE)
        (self.line,) = self.axes.plot([], [], color="C0", marker=".", markersize=3)
        self.key_frame_frames: list[int] = []

    def update(self, session: RenderSession) -> None:
        """Plot ``session.plan()``; on a settings error keep the plot and show the error."""
        try:
            plan = session.plan()
        except SettingsError as err:
            self._note(str(err), error=True)
            return
        self.line.set_data(np.arange(plan.num_frames), [step.t for step in plan.steps])
        self.key_frame_frames = [key_frame.frame for key_frame in plan.key_frames]
        _set_vlines(self.key_frame_lines, self.key_frame_frames)
        settings = session.settings
        self._note(
            f"{settings.interpolation_type}: {plan.num_frames} frames "
            f"({plan.num_frames / settings.fps:.1f} s at {settings.fps:g} fps), "
            f"key frames {_frames_text(self.key_frame_frames)}"
        )
        self._redraw([self.axes], plan.num_frames)


class MotionPreview(_Plot):
    """Zoom (left) and angle / translation (right) per frame."""

    def __init__(self) -> None:
        super().__init__("Motion")
        self.zoom_axes, self.move_axes = self.figure.subplots(1, 2, sharex=True)
        self.zoom_axes.set(xlabel="frame", ylabel="zoom")
        self.move_axes.set(xlabel="frame", ylabel="degrees / pixels")
        self.lines = {"zoom": self.zoom_axes.plot([], [], color="C0")[0]}
        units = {"angle": "°", "translate_x": "px", "translate_y": "px"}
        for color, (name, unit) in enumerate(units.items(), start=1):
            label = f"{name} ({unit})"
            self.lines[name] = self.move_axes.plot([], [], color=f"C{color}", label=label)[0]
        self.move_axes.legend(fontsize="x-small", loc="upper left")
        self.num_frames: int | None = None

    def update(self, session: RenderSession) -> None:
        """Plot the motion strings over the plan's frames (the last known count if it fails)."""
        plan_error = None
        try:
            self.num_frames = session.plan().num_frames
        except SettingsError as err:
            plan_error = err
        if self.num_frames is None:
            self._note(str(plan_error), error=True)
            return
        s = session.settings
        try:
            motion = motion_schedule(self.num_frames, s.zoom, s.angle, s.translate_x, s.translate_y)
        except SettingsError as err:
            self._note(str(err), error=True)
            return
        frames = np.arange(self.num_frames)
        for name, line in self.lines.items():
            line.set_data(frames, getattr(motion, name))
        if plan_error is not None:
            self._note(str(plan_error), error=True)
        elif motion.is_active():
            self._note(f"2D motion over {self.num_frames} frames")
        else:
            self._note("no 2D motion: zoom, angle, translate_x and translate_y are empty")
        self._redraw([self.zoom_axes, self.move_axes], self.num_frames)


class AudioPreview(_Plot):
    """Onset-strength envelope on the frame axis, onsets and the prompts' key frames marked."""

    def __init__(self) -> None:
        super().__init__("Audio")
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="onset strength")
        self.key_frame_lines = _vlines(self.axes, label="prompt key frames", **_KEY_FRAME_STYLE)
        (self.line,) = self.axes.plot([], [], color="C0", linewidth=1.0, label="onset strength")
        (self.onset_markers,) = self.axes.plot(  # at the top edge: x in frames, y in axes
            [], [], "v", color="C3", label="onsets", transform=self.axes.get_xaxis_transform()
        )
        self.axes.legend(fontsize="x-small", loc="center right")
        self.envelope: OnsetEnvelope | None = None
        self.key_frame_frames: list[int] = []
        self._cache: tuple[tuple[str, float, str], OnsetEnvelope] | None = None

    @property
    def onset_frames(self) -> list[int]:
        """The output frames of the detected onsets currently marked."""
        return [int(frame) for frame in self.onset_markers.get_xdata()]

    def update(self, session: RenderSession) -> None:
        """Analyse the audio input (once per file, fps and component) and plot it."""
        s = session.settings
        # Bad prompts: the interpolation preview reports them; keep the last key frames.
        with contextlib.suppress(SettingsError):
            self.key_frame_frames = [key.frame for key in parse_prompts(s.prompts)]
        # No audio: no empty axes, just the sentence saying so.
        self.canvas.layout.display = None if s.audio_input else "none"
        if not s.audio_input:
            self.envelope = None
            self.line.set_data([], [])
            self.onset_markers.set_data([], [])
            _set_vlines(self.key_frame_lines, [])
            self._note("no audio input: choose or upload one under Audio input to see its onsets")
            return
        key = (s.audio_input, s.fps, s.audio_component)
        if self._cache is None or self._cache[0] != key:
            try:
                self._cache = (key, onset_envelope(*key))
            except SettingsError as err:
                self._note(str(err), error=True)
                return
        self.envelope = envelope = self._cache[1]
        self.line.set_data(envelope.frames, envelope.strength)
        onsets = envelope.onset_frames
        self.onset_markers.set_data(onsets, np.full(len(onsets), 0.97))
        _set_vlines(self.key_frame_lines, self.key_frame_frames)
        end = envelope.key_frames[-1]
        self._note(
            f"{len(onsets)} onsets at frames {_frames_text(list(onsets))}; the audio lasts "
            f"{end.timestamp:.1f} s, frames 0–{end.frame} at {s.fps:g} fps"
        )
        last = max([end.frame, float(envelope.frames[-1]), *self.key_frame_frames])
        self._redraw([self.axes], last + 1)


# Which settings each preview follows.
_WATCHED = {
    "schedule": (
        "prompts",
        "interpolation_type",
        "interpolation_args",
        "audio_input",
        "fps",
        "audio_component",
        "mel_reduce",
    ),
    "motion": ("prompts", "zoom", "angle", "translate_x", "translate_y"),
    "audio": ("audio_input", "fps", "audio_component", "prompts"),
}


class Previews:
    """All previews in a Tab, kept in sync with a session's settings and redrawn in place.

    Changes made together (one cell, one widget event, ``settings.update``) are coalesced
    into one update per preview on the running event loop; without a running loop (plain
    scripts, tests, other threads) each change updates at once.
    """

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self.schedule = SchedulePreview()
        self.motion = MotionPreview()
        self.audio = AudioPreview()
        self._previews = {"schedule": self.schedule, "motion": self.motion, "audio": self.audio}
        self.widget = widgets.Tab(
            children=[preview.widget for preview in self._previews.values()],
            titles=["Interpolation", "Motion", "Audio"],
        )
        self._pending: set[str] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._handlers = {name: functools.partial(self._changed, name) for name in _WATCHED}
        self._observed = session.settings
        self._observe(True)
        session.observe(self._settings_replaced, names="settings")
        self.refresh()

    def refresh(self) -> None:
        """Update every preview now."""
        self._cancel()
        for preview in self._previews.values():
            preview.update(self.session)

    def close(self) -> None:
        """Stop following the session (the widgets stay as they are)."""
        self._cancel()
        self._observe(False)
        self.session.unobserve(self._settings_replaced, names="settings")

    def _observe(self, on: bool) -> None:
        method = self._observed.observe if on else self._observed.unobserve
        for name, handler in self._handlers.items():
            method(handler, names=list(_WATCHED[name]))

    def _settings_replaced(self, change: dict) -> None:
        self._observe(False)
        self._observed = change["new"]
        self._observe(True)
        self.refresh()

    def _changed(self, name: str, change: dict) -> None:
        self._pending.add(name)
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush()
        else:
            self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        pending, self._pending = self._pending, set()
        for name, preview in self._previews.items():
            if name in pending:
                preview.update(self.session)

    def _cancel(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._pending.clear()
