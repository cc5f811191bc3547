"""Audio inputs: onsets as key frames, and interpolation that follows the audio's energy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import librosa
import numpy as np

from giffusion_nb.choices import AUDIO_COMPONENTS, MEL_REDUCERS
from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import frame_at, frame_rate, frame_times, frames_covering
from giffusion_nb.media.audio_file import (
    INPUT_FIELD,
    MAX_AUDIO_SECONDS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    audio_duration,
    decoded_audio,
    unreadable,
)
from giffusion_nb.media.audio_stream import (
    HOP,
    SAMPLE_RATE,
    NonFiniteSamples,
    mel_power,
    onset_strength,
    onset_times,
)

__all__ = [
    "AUDIO_COMPONENTS",
    "MAX_AUDIO_SECONDS",
    "MAX_SAMPLE_RATE",
    "MEL_REDUCERS",
    "MIN_SAMPLE_RATE",
    "AudioKeyFrame",
    "AudioSchedule",
    "OnsetEnvelope",
    "audio_duration",
    "audio_key_frames",
    "format_key_frames",
    "frames_for_duration",
    "onset_envelope",
]

_INPUT_FIELD = INPUT_FIELD
_COMPONENT_FIELD = "audio_component"
_REDUCE_FIELD = "mel_reduce"
_REDUCERS = {"max": np.max, "mean": np.mean, "median": np.median}


@dataclass(frozen=True)
class AudioKeyFrame:
    """An output frame that starts a new prompt, and the audio time it came from."""

    frame: int
    timestamp: float  # seconds: the onset; 0.0 for frame 0 and the audio's end for the last frame


@dataclass(frozen=True)
class OnsetEnvelope:
    """The onset strength of an audio file on the output frames' axis, for plots."""

    frames: np.ndarray  # (fractional) output frame of each strength sample
    strength: np.ndarray  # librosa's onset strength
    onset_frames: np.ndarray  # detected onsets as output frame indices
    key_frames: list[AudioKeyFrame]


def _check_component(component: str) -> None:
    if component not in AUDIO_COMPONENTS:
        raise SettingsError(
            _COMPONENT_FIELD, f"expected one of {', '.join(AUDIO_COMPONENTS)}, got {component!r}"
        )


def _check_reducer(mel_reduce: str) -> None:
    if mel_reduce not in MEL_REDUCERS:
        raise SettingsError(
            _REDUCE_FIELD, f"expected one of {', '.join(MEL_REDUCERS)}, got {mel_reduce!r}"
        )


def frames_for_duration(duration: float, fps: float | Fraction) -> int:
    """Output frames covering ``duration`` seconds at ``fps``: ceil(duration * fps), at least 1
    (exact: 0.1 s at 30 fps is 3 frames)."""
    return frames_covering(duration, frame_rate(fps))


def _mel(path: str | Path, component: str) -> np.ndarray:
    """The checked file's mel power spectrogram at 22050 Hz (its percussive or harmonic part,
    or both), analysed in blocks: memory does not grow with the audio's length."""
    _check_component(component)
    path = Path(path).expanduser()
    try:
        return mel_power(path, component)
    except NonFiniteSamples as exc:  # changed since it was checked
        raise SettingsError(_INPUT_FIELD, f"{path} holds {exc}") from None
    except (RuntimeError, OSError, ValueError) as exc:  # damaged after its header (libsndfile)
        raise unreadable(path, exc, _INPUT_FIELD) from exc


def _onsets(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The onset strength envelope of a mel power spectrogram and the onset times (seconds,
    see ``onset_times``) picked from it: librosa's ``onset_strength`` and ``onset_detect``."""
    strength = onset_strength(mel)
    columns = librosa.onset.onset_detect(
        onset_envelope=strength, sr=SAMPLE_RATE, hop_length=HOP, backtrack=False, units="frames"
    )
    return strength, onset_times(columns)


def key_frames_at(
    times: Sequence[float], duration: float, fps: float | Fraction
) -> list[AudioKeyFrame]:
    """Key frames at ``times`` (each rounded once to its nearest frame: frame k is at exactly
    k / fps s), plus frame 0 and the audio's last frame, sorted."""
    last = frames_for_duration(duration, fps) - 1
    timestamps: dict[int, float] = {}
    for time in sorted(times):
        frame = min(frame_at(float(time), fps), last)
        timestamps.setdefault(frame, float(time))  # several onsets in one frame: keep the first
    timestamps[last] = duration
    timestamps[0] = 0.0
    return [AudioKeyFrame(frame, timestamps[frame]) for frame in sorted(timestamps)]


def audio_key_frames(
    path: str | Path, fps: float, component: str = "percussive"
) -> list[AudioKeyFrame]:
    """Key frames at the audio's onsets, plus frame 0 and the audio's last frame, sorted."""
    fps = frame_rate(fps)
    _check_component(component)
    duration = decoded_audio(path).duration
    _, onsets = _onsets(_mel(path, component))
    return key_frames_at(onsets, duration, fps)


def format_key_frames(key_frames: Sequence[AudioKeyFrame]) -> str:
    """One ``frame: timestamp: seconds`` line per key frame, e.g. ``12: timestamp: 0.50``."""
    return "\n".join(f"{key.frame}: timestamp: {key.timestamp:.2f}" for key in key_frames)


def onset_envelope(path: str | Path, fps: float, component: str = "percussive") -> OnsetEnvelope:
    """The onset strength, its onsets and the key frames they give, on the output frames' axis."""
    fps = frame_rate(fps)
    _check_component(component)
    duration = decoded_audio(path).duration
    strength, onsets = _onsets(_mel(path, component))
    last = frames_for_duration(duration, fps) - 1
    times = onset_times(np.arange(strength.size))
    onset_frames = np.unique([min(frame_at(float(t), fps), last) for t in onsets])
    return OnsetEnvelope(
        frames=times * float(fps),
        strength=strength,
        onset_frames=onset_frames.astype(int),
        key_frames=key_frames_at(onsets, duration, fps),
    )


def _reduce_per_frame(
    column_energy: np.ndarray,
    column_times: np.ndarray,
    num_frames: int,
    fps: Fraction,
    reducer: str,
) -> np.ndarray:
    """One value per output frame f from the columns whose times fall in [f/fps, (f+1)/fps)."""
    reduce = _REDUCERS[reducer]
    bounds = frame_times(num_frames + 1, fps)  # computed per frame: no accumulated rounding
    first = np.searchsorted(column_times, bounds[:-1], side="left")
    stop = np.searchsorted(column_times, bounds[1:], side="left")
    values = np.zeros(num_frames)
    for frame in range(num_frames):
        if first[frame] < stop[frame]:
            values[frame] = reduce(column_energy[first[frame] : stop[frame]])
        else:  # the frame is shorter than a hop: take the column nearest to its middle
            middle = float((frame + Fraction(1, 2)) / fps)
            after = min(int(np.searchsorted(column_times, middle)), column_times.size - 1)
            before = max(after - 1, 0)
            nearest = min((before, after), key=lambda i: abs(column_times[i] - middle))
            values[frame] = column_energy[nearest]
    return values


class AudioSchedule:
    """Per-segment t that follows the audio's energy: callable (start_frame, end_frame) -> t values.

    Only one energy value per output frame is kept, not the audio or its spectrogram. A
    truncated file is followed as far as it decodes; ``note`` then says how much that is.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction,
        component: str = "percussive",
        mel_reduce: str = "max",
    ) -> None:
        fps = frame_rate(fps)
        _check_component(component)
        _check_reducer(mel_reduce)
        decoded = decoded_audio(path)
        duration = decoded.duration
        self.note = decoded.note
        column_energy = _mel(path, component).sum(axis=0).astype(np.float64)
        column_times = librosa.frames_to_time(
            np.arange(column_energy.size), sr=SAMPLE_RATE, hop_length=HOP
        )
        num_frames = frames_for_duration(duration, fps)
        self._energy = _reduce_per_frame(column_energy, column_times, num_frames, fps, mel_reduce)

    @property
    def num_frames(self) -> int:
        """Output frames the audio covers: ceil(duration * fps)."""
        return self._energy.size

    def frame_energy(self) -> np.ndarray:
        """The energy of each output frame (a copy)."""
        return self._energy.copy()

    def __call__(self, start: int, end: int) -> np.ndarray:
        """t for frames ``start..end``: 0 at start, 1 at end, rising with each frame's energy."""
        if start < 0 or end < start:
            raise ValueError(f"expected 0 <= start <= end, got start {start} and end {end}")
        length = end - start + 1
        if length == 1:
            return np.zeros(1)
        energy = np.zeros(length - 1)  # frames past the audio's end have no energy
        known = self._energy[start + 1 : end + 1]
        energy[: known.size] = known
        cumulative = np.concatenate(([0.0], np.cumsum(energy)))
        total = cumulative[-1]
        if not total > 0:
            return np.linspace(0.0, 1.0, length)
        return cumulative / total
