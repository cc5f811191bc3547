"""Key-frame handles on a preview's axes, dragged, added and removed with the mouse (ipympl)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import MouseButton, MouseEvent
from matplotlib.backend_tools import Cursors
from matplotlib.lines import Line2D

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curve_text import format_curve
from giffusion_nb.keyframes.curves import parse_curve
from giffusion_nb.keyframes.expressions import Number
from giffusion_nb.ui.curve_history import CurveHistory
from giffusion_nb.ui.curve_limits import CURVE_LIMITS

HIT_POINTS = 8.0  # how near (in points) a press must be to a handle or to the line


@dataclass(frozen=True)
class Span:
    """Where the curve's frames show on the plot: curve frame f at x = offset + f, for f in
    0..last (motion: the whole animation; the interpolation curve: once in every segment)."""

    offset: int
    last: int


@dataclass(frozen=True)
class KeyFrame:
    """One key frame as a handle: its value at its own frame and its text as typed (None: made
    by a drag, written at the setting's step); an expression is ``fixed``."""

    frame: int
    value: float
    source: str | None
    fixed: bool = False


@dataclass(frozen=True)
class _Drag:
    index: int
    span: Span
    before: Any  # the setting's value when the press began
    low: int
    high: int


class CurveEditor:
    """One setting's key frames as handles on ``axes``, written into the setting through
    ``history`` as the mouse moves:

    - drag a handle: up/down its value, left/right its frame (never past its neighbours, never
      off the plot), snapped and limited as ``CURVE_LIMITS`` says;
    - press on the ``line`` away from a handle: a new key frame there, dragged until released;
    - right-click (or shift-click) a handle: remove it.

    Expression key frames are drawn hollow and stay put. ``on_change`` runs after a gesture
    (the preview refits its view and notes); ``frozen`` is True while a handle is dragged.
    """

    def __init__(
        self,
        axes: Axes,
        name: str,
        history: CurveHistory,
        line: Line2D,
        *,
        color: str,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.axes, self.name, self.history, self.line = axes, name, history, line
        self.limits = CURVE_LIMITS[name]
        self.on_change = on_change
        style = {"linestyle": "none", "marker": "o", "markersize": 7, "zorder": 5}
        (self.handles,) = axes.plot([], [], color=color, **style)
        (self.fixed_handles,) = axes.plot([], [], mfc="white", mec=color, **style)
        self.keyframes: list[KeyFrame] = []
        self.spans: list[Span] = []
        self.plain = False  # a plain number (strength): one handle, moved up and down only
        self.active = False  # the value parsed and there is somewhere to draw it
        self.notice = ""  # what the last gesture could not do, in words
        self.features: FrameFeatures | None = None  # the audio features expressions read
        self._drag: _Drag | None = None
        self._written: Any = None
        self._hovering = False
        canvas = axes.figure.canvas
        canvas.mpl_connect("button_press_event", self._press)
        canvas.mpl_connect("motion_notify_event", self._move)
        canvas.mpl_connect("button_release_event", self._release)

    @property
    def frozen(self) -> bool:
        """True while a handle is being dragged."""
        return self._drag is not None

    def wrote_current(self) -> bool:
        """True when the setting holds what the mouse wrote last (no change since)."""
        return self._written is not None and self.history.value(self.name) == self._written

    # --- what the plot shows --------------------------------------------------------------

    def show(self, value: Any, spans: Sequence[Span]) -> None:
        """Draw the handles of ``value`` (the setting's value; None: nothing to edit) over
        ``spans``; a value that does not parse shows none (the preview says why)."""
        if self._drag is not None and value != self._written:
            self._drag = None  # changed elsewhere mid-drag: the drag is over
        self.spans = list(spans)
        try:
            self.keyframes = [] if value is None else self._parse(value)
            self.active = value is not None and bool(self.spans)
        except SettingsError:
            self.keyframes, self.active = [], False
        self._draw()

    def expressions(self) -> list[KeyFrame]:
        """The key frames that are expressions (drawn, not draggable)."""
        return [key for key in self.keyframes if key.fixed]

    def hidden(self) -> list[KeyFrame]:
        """The key frames outside every span (not drawn, so not draggable)."""
        return [key for key in self.keyframes if not any(self._in(key, s) for s in self.spans)]

    def points(self) -> Iterator[tuple[int, Span, float, float]]:
        """(key frame index, span, x, y) of every drawn handle."""
        for index, key in enumerate(self.keyframes):
            for span in self.spans:
                if self._in(key, span):
                    yield index, span, float(span.offset + key.frame), key.value

    def _parse(self, value: Any) -> list[KeyFrame]:
        if not isinstance(value, str):  # strength as a plain number
            self.plain = True
            return [KeyFrame(0, float(value), f"{value:g}")]
        self.plain = False
        if not value.strip() and self.limits.still is not None:
            return []  # no motion
        curve = parse_curve(value, field=self.name)
        last = max([span.last for span in self.spans] or [0])
        drawn = [frame for frame, _ in curve.keyframes if frame <= last]
        values = curve.values(max(drawn) + 1, self.features) if drawn else np.empty(0)
        keys = []
        for (frame, node), source in zip(curve.keyframes, curve.sources, strict=True):
            fixed = not isinstance(node, Number)
            y = node.value if not fixed else (values[frame] if frame <= last else math.nan)
            keys.append(KeyFrame(frame, float(y), source, fixed))
        return keys

    def _draw(self) -> None:
        moving, fixed = [], []
        for index, _span, x, y in self.points():
            (fixed if self.keyframes[index].fixed else moving).append((x, y))
        for artist, points in ((self.handles, moving), (self.fixed_handles, fixed)):
            artist.set_data([x for x, _ in points], [y for _, y in points])

    @staticmethod
    def _in(key: KeyFrame, span: Span) -> bool:
        return 0 <= key.frame <= span.last and math.isfinite(key.value)

    # --- the mouse ------------------------------------------------------------------------

    def _press(self, event: MouseEvent) -> None:
        if not self._listening(event) or event.dblclick or self._drag is not None:
            return
        remove = event.button == MouseButton.RIGHT or "shift" in _modifiers(event)
        hit = self._hit(event)
        self.notice = ""
        if hit is not None:
            index, span = hit
            key = self.keyframes[index]
            if key.fixed:
                self._refuse(f"key frame {key.frame} is an expression ({key.source}): type it")
            elif remove:
                self._remove(index)
            elif event.button == MouseButton.LEFT:
                self._start(index, span, self.history.value(self.name))
        elif event.button == MouseButton.LEFT and not remove:
            self._add(event)

    def _move(self, event: MouseEvent) -> None:
        if self._drag is None:
            self._hover(event)
            return
        buttons = getattr(event, "buttons", None)
        if buttons is not None and MouseButton.LEFT not in buttons:
            self._release(event)  # released outside the canvas
            return
        drag, key = self._drag, self.keyframes[self._drag.index]
        x, y = self.axes.transData.inverted().transform((event.x, event.y))
        frame = min(max(round(x) - drag.span.offset, drag.low), drag.high)
        value = self.limits.snap(y)
        if (frame, value) != (key.frame, key.value):
            self.keyframes[drag.index] = KeyFrame(frame, value, None)
            self._write()

    def _release(self, _event: MouseEvent) -> None:
        if self._drag is None:
            return
        drag, self._drag = self._drag, None
        self.history.record([(self.name, drag.before, self.history.value(self.name))])
        self._draw()
        self.on_change()

    def _listening(self, event: MouseEvent) -> bool:
        toolbar = self.axes.figure.canvas.toolbar
        panning = toolbar is not None and toolbar.mode != ""
        return self.active and event.inaxes is self.axes and not panning

    def _hit(self, event: MouseEvent) -> tuple[int, Span] | None:
        """The drawn handle nearest the mouse, if it is within HIT_POINTS."""
        reach = HIT_POINTS * self.axes.figure.dpi / 72
        best = None
        for index, span, x, y in self.points():
            px, py = self.axes.transData.transform((x, y))
            distance = math.hypot(px - event.x, py - event.y)
            if distance <= reach and (best is None or distance < best[0]):
                best = (distance, index, span)
        return None if best is None else (best[1], best[2])

    def _hover(self, event: MouseEvent) -> None:
        over = self._listening(event) and self._hit(event) is not None
        if over != self._hovering:
            self._hovering = over
            self.axes.figure.canvas.set_cursor(Cursors.HAND if over else Cursors.POINTER)

    # --- edits ----------------------------------------------------------------------------

    def _start(self, index: int, span: Span, before: Any) -> None:
        keys = self.keyframes
        low = keys[index - 1].frame + 1 if index > 0 else 0
        high = keys[index + 1].frame - 1 if index + 1 < len(keys) else span.last
        if self.plain:
            low = high = 0
        self._drag = _Drag(index, span, before, low, min(high, span.last))

    def _add(self, event: MouseEvent) -> None:
        """A press on the line: a key frame there (at the curve's value), then dragged."""
        x, _ = self.axes.transData.inverted().transform((event.x, event.y))
        span = next((s for s in self.spans if s.offset <= round(x) <= s.offset + s.last), None)
        if span is None or not self._near_line(event):
            return
        frame = round(x) - span.offset
        if any(key.frame == frame for key in self.keyframes):
            return
        before = self.history.value(self.name)
        value = self.limits.snap(self._value_at(frame))
        if not self.keyframes and frame > 0:  # an empty motion string: hold still until here
            self.keyframes = [KeyFrame(0, float(self.limits.still), None)]
        self.plain = False
        self.keyframes = sorted([*self.keyframes, KeyFrame(frame, value, None)], key=_frame)
        self._write()
        self._start([key.frame for key in self.keyframes].index(frame), span, before)

    def _remove(self, index: int) -> None:
        if len(self.keyframes) == 1 and self.limits.still is None:
            self._refuse(f"{self.limits.label} needs at least one key frame: drag it instead")
            return
        before = self.history.value(self.name)
        del self.keyframes[index]
        self._write()
        self.history.record([(self.name, before, self.history.value(self.name))])
        self._draw()
        self.on_change()

    def _refuse(self, notice: str) -> None:
        self.notice = notice
        self.on_change()

    def _near_line(self, event: MouseEvent) -> bool:
        xs, ys = self.line.get_xdata(), self.line.get_ydata()
        if len(xs) == 0:
            return False
        x = self.axes.transData.inverted().transform((event.x, event.y))[0]
        y = float(np.interp(x, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)))
        line_y = self.axes.transData.transform((x, y))[1]
        return abs(line_y - event.y) <= HIT_POINTS * self.axes.figure.dpi / 72

    def _value_at(self, frame: int) -> float:
        """The curve's value at ``frame`` as the setting reads now."""
        if not self.keyframes:
            return float(self.limits.still)
        if self.plain:
            return self.keyframes[0].value
        curve = parse_curve(self._text(), field=self.name)
        return float(curve.values(frame + 1, self.features)[frame])

    def _text(self) -> Any:
        """The setting's value for the handles: a key-frame string, a plain number (strength
        that stayed one) or "" (no motion)."""
        if self.plain:
            return self.keyframes[0].value
        pairs = [(k.frame, k.value if k.source is None else k.source) for k in self.keyframes]
        return format_curve(pairs, self.limits.step)

    def _write(self) -> None:
        self._written = self._text()
        self.history.write(self.name, self._written)
        self._draw()


def _frame(key: KeyFrame) -> int:
    return key.frame


def _modifiers(event: MouseEvent) -> frozenset[str]:
    modifiers = set(getattr(event, "modifiers", ()) or ())
    if event.key:
        modifiers.update(event.key.split("+"))
    return frozenset(modifiers)
