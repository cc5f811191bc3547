"""One ipympl figure made once and redrawn in place, and the markers every preview shares."""

from __future__ import annotations

import contextlib
import html
import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from ipympl.backend_nbagg import Canvas, FigureManager
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.media.audio import OnsetEnvelope, onset_envelope

if TYPE_CHECKING:
    from giffusion_nb.settings import Settings

FIGSIZE = (6.0, 2.2)
ERROR_COLOR = "#c0392b"
NOTE_COLOR = "#666666"
KEY_FRAME_STYLE = {"colors": "0.55", "linestyles": "--", "linewidths": 1.0}
ONSET_COLOR = "C3"
_figure_numbers = itertools.count(1)


class Plot:
    """One figure, made once, shown as an ipympl canvas above a one-line message."""

    def __init__(self, title: str, figsize: tuple[float, float] = FIGSIZE) -> None:
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.canvas = Canvas(self.figure)
        # The manager gives the canvas its toolbar; no pyplot registry, nothing displayed.
        FigureManager(self.canvas, next(_figure_numbers)).set_window_title(title)
        self.canvas.header_visible = False
        self.canvas.footer_visible = False
        self.canvas.toolbar_visible = "fade-in-fade-out"
        self.message = widgets.HTML()
        self.widget = widgets.VBox([self.canvas, self.message])
        self.widget.add_class(f"gnb-preview-{title.lower()}")

    @property
    def frozen(self) -> bool:
        """True while the mouse drags a handle: the view must stay put."""
        return False

    def _note(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` under the plot (red for an error); empty text clears the line."""
        if not text:
            self.message.value = ""
            return
        color = ERROR_COLOR if error else NOTE_COLOR
        self.message.value = f'<span style="color: {color}">{html.escape(text)}</span>'

    def _redraw(self, axes: Iterable[Axes], num_frames: float) -> None:
        """Fit x to frames 0..num_frames-1 and y to the data, then ask the browser to redraw
        (while a handle is dragged only redraw: a moving view would move the handle too)."""
        if not self.frozen:
            for ax in axes:
                ax.set_xlim(-0.5, max(num_frames, 1) - 0.5)
                ax.relim()
                self._fit(ax)
            self.canvas.toolbar.update()  # the toolbar's "home" is the new view
        self.canvas.draw_idle()

    def _fit(self, ax: Axes) -> None:
        """Fit y to the data (limits set by hand stay)."""
        ax.autoscale_view(scalex=False)


def vlines(ax: Axes, **style: Any) -> LineCollection:
    """An empty set of full-height vertical lines, kept out of autoscaling."""
    lines = LineCollection([], transform=ax.get_xaxis_transform(), **style)
    ax.add_collection(lines, autolim=False)
    return lines


def set_vlines(lines: LineCollection, xs: Iterable[float]) -> None:
    """Put the vertical lines at ``xs``."""
    lines.set_segments([[(x, 0.0), (x, 1.0)] for x in xs])


def frames_text(frames: Sequence[int], limit: int = 12) -> str:
    """``0, 12, 24, …``: the first ``limit`` frame numbers."""
    shown = ", ".join(str(frame) for frame in frames[:limit])
    return shown + (", …" if len(frames) > limit else "")


class Markers:
    """The prompts' key frames (dashed lines) and the audio's onsets (ticks at the top) on one
    axes, so curves can be lined up with both."""

    def __init__(self, ax: Axes) -> None:
        self.key_frame_lines = vlines(ax, **KEY_FRAME_STYLE)
        (self.onsets,) = ax.plot(  # x in frames, y in axes: at the top edge
            [], [], "v", color=ONSET_COLOR, markersize=4, transform=ax.get_xaxis_transform()
        )

    def set(self, key_frames: Iterable[int], onsets: Sequence[int]) -> None:
        """Mark these key frames and onsets (empty: none)."""
        set_vlines(self.key_frame_lines, key_frames)
        self.onsets.set_data(list(onsets), [0.97] * len(onsets))


class AudioOnsets:
    """The onset analysis of the audio input, made once per file, fps and component and shared
    by every preview; ``envelope`` raises the analysis's error, ``onset_frames`` hides it."""

    def __init__(self) -> None:
        self._cache: tuple[tuple[str, float, str], OnsetEnvelope] | None = None

    def envelope(self, settings: Settings) -> OnsetEnvelope | None:
        """The audio input's onset envelope (None without audio); SettingsError for bad audio."""
        if not settings.audio_input:
            return None
        key = (settings.audio_input, settings.fps, settings.audio_component)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, onset_envelope(*key))
        return self._cache[1]

    def onset_frames(self, settings: Settings) -> list[int]:
        """The output frames of the audio's onsets; none without audio or when it cannot be
        read (the audio preview says why)."""
        with contextlib.suppress(SettingsError):
            envelope = self.envelope(settings)
            return [] if envelope is None else [int(frame) for frame in envelope.onset_frames]
        return []


def prompt_key_frames(settings: Settings) -> list[int]:
    """The prompts' key frames; SettingsError while the prompts are invalid."""
    return [key_frame.frame for key_frame in parse_prompts(settings.prompts)]
