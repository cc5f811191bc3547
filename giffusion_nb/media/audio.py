"""Audio inputs: onsets as key frames, and interpolation that follows the audio's energy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from giffusion_nb.choices import AUDIO_COMPONENTS, MEL_REDUCERS
from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio_stream import HOP, SAMPLE_RATE, mel_power, read_header

MAX_AUDIO_SECONDS = 30 * 60.0  # longer audio is refused: it would mean a huge animation
MIN_SAMPLE_RATE = 4_000  # below telephone quality (8 kHz) there are no onsets to find
MAX_SAMPLE_RATE = 384_000  # the highest rate studio files use

_INPUT_FIELD = "audio_input"
_COMPONENT_FIELD = "audio_component"
_REDUCE_FIELD = "mel_reduce"
_FPS_FIELD = "fps"
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


def _check_fps(fps: float) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError) as exc:
        raise SettingsError(
            _FPS_FIELD, f"expected a number of frames per second, got {fps!r}"
        ) from exc
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(
            _FPS_FIELD, f"expected a positive number of frames per second, got {fps}"
        )
    return value


def _check_file(path: Path, field: str) -> None:
    if not path.is_file():
        raise SettingsError(field, f"expected an audio file, but there is no file {path}")
    if path.stat().st_size == 0:
        raise SettingsError(field, f"expected an audio file, but {path} is empty (0 bytes)")


def _unreadable(path: Path, exc: BaseException, field: str) -> SettingsError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SettingsError(
        field,
        f"expected an audio file (WAV, FLAC, OGG, MP3, AIFF...), but {path} could not be read: "
        f"{reason}",
    )


def frames_for_duration(duration: float, fps: float) -> int:
    """Output frames covering ``duration`` seconds at ``fps``: ceil(duration * fps), at least 1."""
    # The tolerance keeps e.g. 0.1 s * 30 fps (3.0000000000000004) at 3 frames.
    return max(1, math.ceil(duration * _check_fps(fps) - 1e-6))


def audio_duration(
    path: str | Path, *, max_seconds: float = MAX_AUDIO_SECONDS, field: str = _INPUT_FIELD
) -> float:
    """The audio's length in seconds, read from the file's header (the samples are not
    decoded); a ``SettingsError`` naming ``field`` for a file that is no audio, has no
    samples, a sample rate outside ``MIN_SAMPLE_RATE``..``MAX_SAMPLE_RATE`` or is too long."""
    path = Path(path).expanduser()
    _check_file(path, field)
    try:
        header = read_header(path)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise _unreadable(path, exc, field) from exc
    if not MIN_SAMPLE_RATE <= header.sample_rate <= MAX_SAMPLE_RATE:
        raise SettingsError(
            field,
            f"{path} has a sample rate of {header.sample_rate} Hz; expected {MIN_SAMPLE_RATE} "
            f"to {MAX_SAMPLE_RATE} Hz (resample it, e.g. to 44100 Hz)",
        )
    if not header.frames > 0:
        raise SettingsError(
            field, f"expected audio samples, but {path} has none (truncated or header only?)"
        )
    if header.duration > max_seconds:
        raise SettingsError(
            field,
            f"expected at most {max_seconds:g} seconds of audio, but {path} lasts "
            f"{header.duration:.1f} s",
        )
    return header.duration


def _mel(path: str | Path, component: str) -> np.ndarray:
    """The checked file's mel power spectrogram at 22050 Hz (its percussive or harmonic part,
    or both), analysed in blocks: memory does not grow with the audio's length."""
    _check_component(component)
    path = Path(path).expanduser()
    try:
        return mel_power(path, component)
    except (RuntimeError, OSError, ValueError) as exc:  # damaged after its header (libsndfile)
        raise _unreadable(path, exc, _INPUT_FIELD) from exc


def _onsets(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The onset strength envelope of a mel power spectrogram and the onset times (seconds)
    picked from it: librosa's ``onset_strength`` and ``onset_detect`` of the samples."""
    strength = librosa.onset.onset_strength(
        S=librosa.power_to_db(mel), sr=SAMPLE_RATE, hop_length=HOP
    )
    times = librosa.onset.onset_detect(
        onset_envelope=strength, sr=SAMPLE_RATE, hop_length=HOP, backtrack=False, units="time"
    )
    return strength, times


def _key_frames(onset_times: np.ndarray, duration: float, fps: float) -> list[AudioKeyFrame]:
    last = frames_for_duration(duration, fps) - 1
    timestamps: dict[int, float] = {}
    for time in sorted(onset_times):
        frame = min(round(float(time) * fps), last)
        timestamps.setdefault(frame, float(time))  # several onsets in one frame: keep the first
    timestamps[last] = duration
    timestamps[0] = 0.0
    return [AudioKeyFrame(frame, timestamps[frame]) for frame in sorted(timestamps)]


def audio_key_frames(
    path: str | Path, fps: float, component: str = "percussive"
) -> list[AudioKeyFrame]:
    """Key frames at the audio's onsets, plus frame 0 and the audio's last frame, sorted."""
    fps = _check_fps(fps)
    _check_component(component)
    duration = audio_duration(path)
    _, onset_times = _onsets(_mel(path, component))
    return _key_frames(onset_times, duration, fps)


def format_key_frames(key_frames: Sequence[AudioKeyFrame]) -> str:
    """One ``frame: timestamp: seconds`` line per key frame, e.g. ``12: timestamp: 0.50``."""
    return "\n".join(f"{key.frame}: timestamp: {key.timestamp:.2f}" for key in key_frames)


def onset_envelope(path: str | Path, fps: float, component: str = "percussive") -> OnsetEnvelope:
    """The onset strength, its onsets and the key frames they give, on the output frames' axis."""
    fps = _check_fps(fps)
    _check_component(component)
    duration = audio_duration(path)
    strength, onset_times = _onsets(_mel(path, component))
    last = frames_for_duration(duration, fps) - 1
    times = librosa.times_like(strength, sr=SAMPLE_RATE, hop_length=HOP)
    onset_frames = np.unique(np.clip(np.rint(onset_times * fps), 0, last)).astype(int)
    return OnsetEnvelope(
        frames=times * fps,
        strength=strength,
        onset_frames=onset_frames,
        key_frames=_key_frames(onset_times, duration, fps),
    )


def _reduce_per_frame(
    column_energy: np.ndarray, column_times: np.ndarray, num_frames: int, fps: float, reducer: str
) -> np.ndarray:
    """One value per output frame f from the columns whose times fall in [f/fps, (f+1)/fps)."""
    reduce = _REDUCERS[reducer]
    bounds = np.arange(num_frames + 1) / fps  # computed per frame: no accumulated rounding
    first = np.searchsorted(column_times, bounds[:-1], side="left")
    stop = np.searchsorted(column_times, bounds[1:], side="left")
    values = np.zeros(num_frames)
    for frame in range(num_frames):
        if first[frame] < stop[frame]:
            values[frame] = reduce(column_energy[first[frame] : stop[frame]])
        else:  # the frame is shorter than a hop: take the column nearest to its middle
            middle = (frame + 0.5) / fps
            after = min(int(np.searchsorted(column_times, middle)), column_times.size - 1)
            before = max(after - 1, 0)
            nearest = min((before, after), key=lambda i: abs(column_times[i] - middle))
            values[frame] = column_energy[nearest]
    return values


class AudioSchedule:
    """Per-segment t that follows the audio's energy: callable (start_frame, end_frame) -> t values.

    Only one energy value per output frame is kept, not the audio or its spectrogram.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        component: str = "percussive",
        mel_reduce: str = "max",
    ) -> None:
        fps = _check_fps(fps)
        _check_component(component)
        _check_reducer(mel_reduce)
        duration = audio_duration(path)
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
