"""Audio key frames on onsets, beats or bars (librosa's beat tracker), and their text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from giffusion_nb.frame_rate import frame_rate
from giffusion_nb.keyframes.audio_keys import KeySource, assign_prompts
from giffusion_nb.media.audio import (
    AudioKeyFrame,
    audio_key_frames,
    format_key_frames,
    key_frames_at,
)
from giffusion_nb.media.audio_features import audio_analysis
from giffusion_nb.media.audio_file import decoded_audio


@dataclass(frozen=True)
class AudioKeys:
    """Key frames from an audio file, what placed them, and the text for the prompts box."""

    key_frames: list[AudioKeyFrame]
    source: KeySource
    tempo: float | None  # beats a minute; None for onsets
    text: str  # ``N: timestamp: S.SS`` lines, or ``N: prompt`` lines with prompts given
    note: str  # how the prompts were used, how much of a truncated file was read; or ''

    def summary(self) -> str:
        """One sentence: how many key frames, on what, at which tempo."""
        where = self.source.describe()
        tempo = f" at {self.tempo:.1f} BPM" if self.tempo else ""
        return f"{len(self.key_frames)} key frames on {where}{tempo}"


def audio_keys(
    path: str | Path,
    fps: float | Fraction,
    component: str = "percussive",
    source: KeySource | None = None,
    prompts: Sequence[str] | None = None,
) -> AudioKeys:
    """Key frames on the audio's onsets or on every N beats or bars (frame 0 and the audio's
    last frame included), each at the frame nearest its time (rounded once); with
    ``prompts``, those put on the key frames in order."""
    source = source or KeySource()
    rate = frame_rate(fps)
    decoded = decoded_audio(path)
    if source.unit == "onsets":
        key_frames, tempo = audio_key_frames(path, rate, component), None
    else:
        analysis = audio_analysis(path, component)
        times = analysis.beats[:: source.beat_step]
        key_frames, tempo = key_frames_at(times, analysis.duration, rate), analysis.tempo
    notes = [decoded.note] if decoded.note else []
    if prompts is None:
        text = format_key_frames(key_frames)
    else:
        text, used = assign_prompts([key.frame for key in key_frames], prompts)
        notes.insert(0, used)
    return AudioKeys(key_frames, source, tempo, text, "; ".join(notes))
