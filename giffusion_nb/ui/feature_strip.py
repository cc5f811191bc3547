"""The audio features a curve reads, drawn beneath the curve on its own axes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import AudioTerm, FrameFeatures
from giffusion_nb.keyframes.curves import parse_curve
from giffusion_nb.media.audio_features import settings_features

if TYPE_CHECKING:
    from giffusion_nb.settings import Settings

STRIP_HEIGHT = 0.3  # of the axes' height, at the bottom
MAX_SHOWN = 3
COLORS = ("#e67e22", "#8e44ad", "#16a085")


def preview_features(settings: Settings) -> FrameFeatures | None:
    """The audio input's features for the previews' curves (None without audio)."""
    try:
        return settings_features(settings)
    except SettingsError:
        return None  # a wrong fps: the fps field says so; curves then read no audio


def curve_terms(texts: Iterable[object]) -> list[AudioTerm]:
    """The distinct audio terms the key-frame strings among ``texts`` read, in order."""
    terms: list[AudioTerm] = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            curve = parse_curve(text)
        except SettingsError:
            continue  # the field says what is wrong
        terms += [term for term in curve.audio_terms() if term not in terms]
    return terms


class FeatureStrip:
    """Up to three audio features (0..1 each) as step lines along the bottom
    ``STRIP_HEIGHT`` of ``axes``, the first filled, named at the left: what the curve above is
    computed from. Out of the axes' autoscaling, and under the curve and its handles."""

    def __init__(self, axes: Axes) -> None:
        self.axes = axes
        transform = axes.get_xaxis_transform()  # x in frames, y in axes
        self.lines = [
            axes.plot(
                [],
                [],
                color=color,
                linewidth=0.9,
                drawstyle="steps-mid",
                zorder=0.6,
                transform=transform,
            )[0]
            for color in COLORS
        ]
        self.fill = PolyCollection([], facecolor=COLORS[0], alpha=0.18, zorder=0.5)
        self.fill.set_transform(transform)
        axes.add_collection(self.fill, autolim=False)
        self.label = axes.text(
            0.01,
            STRIP_HEIGHT + 0.02,
            "",
            transform=axes.transAxes,
            fontsize="x-small",
            color="0.35",
            va="bottom",
            zorder=0.7,
        )
        self.terms: list[AudioTerm] = []

    def show(self, terms: Sequence[AudioTerm], features: FrameFeatures | None, count: int) -> None:
        """Draw ``terms`` over frames 0..count-1 (nothing when the audio cannot be read: the
        curve's own evaluation says why)."""
        values = []
        if features is not None:
            try:
                values = [features.series(term, count)[:count] for term in terms[:MAX_SHOWN]]
            except SettingsError:
                values = []
        self.terms = list(terms[: len(values)])
        frames = np.arange(count)
        for index, line in enumerate(self.lines):
            shown = index < len(values)
            line.set_data(frames if shown else [], values[index] * STRIP_HEIGHT if shown else [])
        if values:
            steps = np.repeat(frames, 2) + np.tile([-0.5, 0.5], count)
            heights = np.repeat(values[0], 2) * STRIP_HEIGHT
            outline = np.column_stack([steps, heights])
            self.fill.set_verts([np.vstack([[steps[0], 0.0], outline, [steps[-1], 0.0]])])
        else:
            self.fill.set_verts([])
        names = ", ".join(term.describe() for term in self.terms)
        self.label.set_text(f"audio beneath (0–1): {names}" if names else "")
