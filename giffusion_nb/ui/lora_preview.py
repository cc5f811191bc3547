"""The preview of the `lora` setting: every adapter's scale per frame, key frames marked."""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.lora_text import LoraLine, lora_scales, parse_lora
from giffusion_nb.ui.feature_strip import FeatureStrip, curve_terms, preview_features
from giffusion_nb.ui.plot import AudioOnsets, Markers, Plot
from giffusion_nb.ui.plot import prompt_key_frames as read_key_frames

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

LABEL_CHARS = 28


class LoraPreview(Plot):
    """One line a LoRA adapter: its scale at every frame of the prompts (the last known count
    while they are wrong); a frame's call uses these scales. Drawn, not dragged: a scale is
    edited in its line of the field."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("LoRA")
        self.session, self.onsets = session, onsets or AudioOnsets()
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="LoRA scale")
        self.axes.axhline(0.0, color="0.8", linewidth=0.8)  # the adapter off
        self.markers = Markers(self.axes)
        self.strip = FeatureStrip(self.axes)
        self.lines: list[Line2D] = []
        self.key_frame_frames: list[int] = []
        self.num_frames: int | None = None

    def update(self) -> None:
        """Plot each adapter's scales; errors (prompts, a scale) under the plot."""
        s = self.session.settings
        prompts_error = None
        try:
            self.key_frame_frames = read_key_frames(s)
            self.num_frames = self.key_frame_frames[-1] + 1
        except SettingsError as err:
            prompts_error = err
        if self.num_frames is None:
            self._note(str(prompts_error), error=True)
            return
        count = self.num_frames
        self.markers.set(self.key_frame_frames, self.onsets.onset_frames(s))
        features = preview_features(s)
        try:
            lines = parse_lora(s.lora)
            scales = lora_scales(lines, count, features=features)
        except SettingsError as err:
            self._note(str(err), error=True)
            return
        self.strip.show(curve_terms(line.scale for line in lines), features, count)
        self._show(lines, scales)
        if prompts_error is not None:
            self._note(str(prompts_error), error=True)
        elif not lines:
            self._note("no LoRA adapters: add `SOURCE @ SCALE` lines under LoRA adapters")
        else:
            changing = sum(bool(np.ptp(scales[:, column])) for column in range(len(lines)))
            self._note(
                f"{len(lines)} adapter{'s' if len(lines) > 1 else ''} over {count} frames"
                + (f", {changing} with a changing scale (one call per scale)" if changing else "")
            )
        self._redraw([self.axes], count)

    def _show(self, lines: tuple[LoraLine, ...], scales: np.ndarray) -> None:
        """One line an adapter (made once, reused), the others emptied; the legend names them."""
        while len(self.lines) < len(lines):
            color = f"C{len(self.lines) % 10}"
            self.lines.append(self.axes.plot([], [], color=color, marker=".", markersize=3)[0])
        frames = np.arange(scales.shape[0])
        for index, line in enumerate(self.lines):
            if index < len(lines):
                line.set_data(frames, scales[:, index])
                line.set_label(_label(lines[index]))
            else:
                line.set_data([], [])
                line.set_label("_hidden")
        legend = self.axes.get_legend()
        if legend is not None:
            legend.remove()
        if lines:
            self.axes.legend(handles=self.lines[: len(lines)], fontsize="x-small", loc="best")


def _label(line: LoraLine) -> str:
    """An adapter's file or Hub name, shortened."""
    source = line.source
    name = PurePath(source).name or source
    if source.count("/") == 1 and not source.startswith((".", "/", "~")) and "." not in name:
        name = source  # owner/name on the Hub
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
