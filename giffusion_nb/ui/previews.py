"""Live ipympl plots of a session's interpolation schedule, 2D motion, strength, LoRA scales,
audio onsets, init treatment and sampling (guidance, steps, seeds), in one Tab kept in sync
with the settings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.treatment_schedule import TREATMENT_FIELDS
from giffusion_nb.media.audio import OnsetEnvelope
from giffusion_nb.media.motion import MOTION_SETTINGS
from giffusion_nb.ui.camera_preview import CameraPreview
from giffusion_nb.ui.curve_previews import SchedulePreview, StrengthPreview
from giffusion_nb.ui.lora_preview import LoraPreview
from giffusion_nb.ui.motion_preview import MotionPreview
from giffusion_nb.ui.plot import KEY_FRAME_STYLE, AudioOnsets, Plot, frames_text, set_vlines, vlines
from giffusion_nb.ui.plot import prompt_key_frames as read_key_frames
from giffusion_nb.ui.sampling_preview import SAMPLING_SETTINGS, SamplingPreview
from giffusion_nb.ui.treatment_preview import TreatmentPreview
from giffusion_nb.validation import MOTION_FIELDS

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

_AUDIO = ("audio_input", "fps", "audio_component")


class AudioPreview(Plot):
    """Onset-strength envelope on the frame axis, onsets and the prompts' key frames marked."""

    def __init__(self, session: RenderSession, onsets: AudioOnsets | None = None) -> None:
        super().__init__("Audio")
        self.session, self.onsets = session, onsets or AudioOnsets()
        self.axes = self.figure.add_subplot()
        self.axes.set(xlabel="frame", ylabel="onset strength")
        self.key_frame_lines = vlines(self.axes, label="prompt key frames", **KEY_FRAME_STYLE)
        (self.line,) = self.axes.plot([], [], color="C0", linewidth=1.0, label="onset strength")
        (self.onset_markers,) = self.axes.plot(  # at the top edge: x in frames, y in axes
            [], [], "v", color="C3", label="onsets", transform=self.axes.get_xaxis_transform()
        )
        self.axes.legend(fontsize="x-small", loc="center right")
        self.envelope: OnsetEnvelope | None = None
        self.key_frame_frames: list[int] = []

    @property
    def onset_frames(self) -> list[int]:
        """The output frames of the detected onsets currently marked."""
        return [int(frame) for frame in self.onset_markers.get_xdata()]

    def update(self) -> None:
        """Analyse the audio input (once per file, fps and component) and plot it."""
        s = self.session.settings
        # Bad prompts: the interpolation preview reports them; keep the last key frames.
        with contextlib.suppress(SettingsError):
            self.key_frame_frames = read_key_frames(s)
        # No audio: no empty axes, just the sentence saying so.
        self.canvas.layout.display = None if s.audio_input else "none"
        if not s.audio_input:
            self.envelope = None
            self.line.set_data([], [])
            self.onset_markers.set_data([], [])
            set_vlines(self.key_frame_lines, [])
            self._note("no audio input: choose or upload one under Audio input to see its onsets")
            return
        try:
            self.envelope = envelope = self.onsets.envelope(s)
        except SettingsError as err:
            self._note(str(err), error=True)
            return
        self.line.set_data(envelope.frames, envelope.strength)
        onsets = envelope.onset_frames
        self.onset_markers.set_data(onsets, np.full(len(onsets), 0.97))
        set_vlines(self.key_frame_lines, self.key_frame_frames)
        end = envelope.key_frames[-1]
        self._note(
            f"{len(onsets)} onsets at frames {frames_text(list(onsets))}; the audio lasts "
            f"{end.timestamp:.1f} s, frames 0–{end.frame} at {s.fps:g} fps"
        )
        last = max([end.frame, float(envelope.frames[-1]), *self.key_frame_frames])
        self._redraw([self.axes], last + 1)


# Which settings each preview follows (the curve previews mark the audio's onsets too).
_WATCHED = {
    "schedule": (
        "prompts",
        "interpolation_type",
        "interpolation_args",
        "pacing",
        "mel_reduce",
        *_AUDIO,
    ),
    "motion": ("prompts", *MOTION_SETTINGS, *_AUDIO),
    "strength": (
        "prompts",
        "strength",
        "image_input",
        "video_input",
        *MOTION_SETTINGS,
        *_AUDIO,
    ),
    "lora": ("prompts", "lora", *_AUDIO),
    "treatment": ("prompts", *TREATMENT_FIELDS, *MOTION_FIELDS, *_AUDIO),
    "sampling": ("prompts", *SAMPLING_SETTINGS, *_AUDIO),
    "audio": ("prompts", *_AUDIO),
}


class Previews:
    """All previews in a Tab, kept in sync with a session's settings and redrawn in place.

    Changes made together (one cell, one widget event, ``settings.update``) are coalesced
    into one update per preview on the running event loop; without a running loop (plain
    scripts, tests, other threads) each change updates at once.
    """

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        onsets = AudioOnsets()  # one analysis of the audio for every preview
        self.schedule = SchedulePreview(session, onsets)
        self.motion = MotionPreview(session, onsets)
        self.strength = StrengthPreview(session, onsets)
        self.lora = LoraPreview(session, onsets)
        self.audio = AudioPreview(session, onsets)
        self.treatment = TreatmentPreview(session, onsets)
        self.sampling = SamplingPreview(session, onsets)
        self.camera = CameraPreview(session)  # played on demand, not on every change
        self._previews = {
            "schedule": self.schedule,
            "motion": self.motion,
            "strength": self.strength,
            "lora": self.lora,
            "audio": self.audio,
            "treatment": self.treatment,
            "sampling": self.sampling,
        }
        self.widget = widgets.Tab(
            children=[preview.widget for preview in self._previews.values()] + [self.camera.widget],
            titles=[
                "Interpolation",
                "Motion",
                "Strength",
                "LoRA",
                "Audio",
                "Treatment",
                "Sampling",
                "Camera",
            ],
        )
        self.widget.add_class("gnb-previews")
        self._pending: set[str] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._handlers = {name: functools.partial(self._changed, name) for name in _WATCHED}
        self._observed = session.settings
        self._observe(True)
        session.observe(self._settings_replaced, names="settings")
        session.observe(self._paced, names="pacing")
        self.refresh()

    def refresh(self) -> None:
        """Update every preview now."""
        self._cancel()
        for preview in self._previews.values():
            preview.update()

    def _paced(self, _change: dict) -> None:
        """A render probed its pacing: draw it on the interpolation preview."""
        self.schedule.update()

    def close(self) -> None:
        """Stop following the session (the widgets stay as they are)."""
        self._cancel()
        self._observe(False)
        for preview in (self.schedule, self.motion, self.strength, self.treatment, self.sampling):
            preview.history.close()
        self.session.unobserve(self._settings_replaced, names="settings")
        self.session.unobserve(self._paced, names="pacing")

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
                preview.update()

    def _cancel(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._pending.clear()
