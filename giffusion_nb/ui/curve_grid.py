"""A preview of several per-frame curves over the prompts' frames, one axes each in a grid, with
key-frame markers, the audio features a curve reads, and handles on the editable ones; the
first error under the plot. Each preview says how a curve's values come from the settings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.ui.curve_editor import Span
from giffusion_nb.ui.curve_previews import _FramesPlot
from giffusion_nb.ui.feature_strip import FeatureStrip, curve_terms, preview_features
from giffusion_nb.ui.plot import AudioOnsets, Markers

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession
    from giffusion_nb.settings import Settings


class CurveGrid(_FramesPlot):
    """Curves ``labels`` (name: axes label) in a grid of ``columns``; ``editable`` ones get
    handles, ``stepped`` ones are drawn as steps. Subclasses give ``_curve`` and ``_summary``."""

    def __init__(
        self,
        title: str,
        session: RenderSession,
        onsets: AudioOnsets | None,
        labels: dict[str, str],
        *,
        columns: int,
        size: tuple[float, float],
        editable: Sequence[str],
        stepped: Collection[str] = (),
        colors: Sequence[str] | None = None,
    ) -> None:
        super().__init__(title, session, onsets or AudioOnsets(), editable, size)
        grid = self.figure.subplots(-(-len(labels) // columns), columns, sharex=True)
        self.axes = dict(zip(labels, np.atleast_1d(grid).flat, strict=True))
        colors = colors or [f"C{index}" for index in range(len(labels))]
        self.lines: dict[str, Line2D] = {}
        self.markers: dict[str, Markers] = {}
        self.strips = {name: FeatureStrip(ax) for name, ax in self.axes.items()}
        for index, (name, ax) in enumerate(self.axes.items()):
            bottom = index >= len(labels) - columns
            ax.set(ylabel=labels[name], xlabel="frame" if bottom else "")
            self.markers[name] = Markers(ax)
            style = {"drawstyle": "steps-mid"} if name in stepped else {}
            self.lines[name] = ax.plot([], [], color=colors[index], **style)[0]
            if name in editable:
                self._editor(ax, name, self.lines[name], colors[index])
        self.key_frame_frames = []

    def _curve(
        self, name: str, settings: Settings, count: int, features: FrameFeatures | None
    ) -> np.ndarray:
        """Curve ``name``'s value at each of ``count`` frames (a SettingsError when wrong)."""
        raise NotImplementedError

    def _texts(self, name: str, settings: Settings) -> list[str]:
        """The key-frame strings curve ``name`` reads (for its audio-feature strip)."""
        return [str(getattr(settings, name))]

    def _summary(self, settings: Settings, count: int, values: dict[str, np.ndarray]) -> str:
        """The note under the plot when nothing is wrong."""
        raise NotImplementedError

    def _hint_text(self, settings: Settings) -> str:
        """What the hint adds to the gestures."""
        return ""

    def update(self) -> None:
        """Plot every curve over the prompts' frames; the first error under the plot (a curve
        in error keeps its last good line)."""
        prompts_error = self._frames()
        if self.num_frames is None:
            self._note(str(prompts_error), error=True)
            return
        s, count = self.session.settings, self.num_frames
        frames, onsets = np.arange(count), self.onsets.onset_frames(s)
        features = preview_features(s)
        values: dict[str, np.ndarray] = {}
        errors: list[SettingsError] = []
        for name, line in self.lines.items():
            try:
                values[name] = self._curve(name, s, count, features)
            except SettingsError as err:
                errors.append(err)
            else:
                line.set_data(frames, values[name])
            if name in self.editors:
                self.editors[name].features = features
                self.editors[name].show(getattr(s, name), [Span(0, count - 1)])
            self.strips[name].show(curve_terms(self._texts(name, s)), features, count)
            self.markers[name].set(self.key_frame_frames, onsets)
        first = prompts_error or (errors[0] if errors else None)
        if first is not None:
            self._note(str(first), error=True)
        else:
            self._note(self._summary(s, count, values))
        self._hint(self._hint_text(s))
        self._redraw(self.axes.values(), count)
