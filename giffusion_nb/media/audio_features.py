"""Audio features for key-frame expressions (``amp``, ``onset``, ``beat``, ``perc``, ``harm``,
``band``): one streamed analysis of a file, kept per file, and each feature's value at every
output frame's time (frame k at exactly k / fps seconds), normalised to 0..1 over the track."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import librosa
import numpy as np

from giffusion_nb.choices import AUDIO_COMPONENTS
from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import frame_rate, frame_times, frames_covering
from giffusion_nb.keyframes.audio_terms import AudioTerm, FrameFeatures
from giffusion_nb.media.audio_file import INPUT_FIELD, decoded_audio, unreadable
from giffusion_nb.media.audio_stream import (
    COLUMN_SECONDS,
    HOP,
    N_MELS,
    SAMPLE_RATE,
    NonFiniteSamples,
    block_mel,
    block_rms,
    block_window,
    blocks,
    mono_chunks,
    onset_strength,
    onset_times,
    separate,
)

# 23.8 s analysed at a time: each block's STFT, HPSS and three spectrograms take ~150 MB
FEATURE_BLOCK = 1024 * HOP
# The mel bands' centre frequencies (librosa's filters: 128 bands from 0 to 11025 Hz).
BAND_CENTRES = librosa.mel_frequencies(n_mels=N_MELS + 2, fmax=SAMPLE_RATE / 2)[1:-1]


@dataclass(frozen=True, eq=False)
class AudioAnalysis:
    """One file's features per analysis column (every ``HOP`` samples at 22050 Hz).

    ``amp``, ``perc`` and ``harm`` are RMS amplitudes of the signal and of its percussive and
    harmonic parts; ``onset`` is librosa's onset strength of the ``component`` part; ``mel`` the
    signal's mel power (bands, columns), for ``band``; ``beats`` librosa's beat times (s).
    """

    duration: float  # seconds that decode
    note: str  # how much of a truncated file decodes; '' for a whole one
    amp: np.ndarray
    perc: np.ndarray
    harm: np.ndarray
    onset: np.ndarray
    mel: np.ndarray
    beats: np.ndarray
    tempo: float

    @property
    def columns(self) -> int:
        return self.amp.size


def audio_analysis(path: str | Path, component: str = "percussive") -> AudioAnalysis:
    """The file's analysis, made once per file (until its size or time changes) and
    component; ``SettingsError`` on ``audio_input`` for a file that cannot be analysed."""
    if component not in AUDIO_COMPONENTS:
        raise SettingsError(
            "audio_component", f"expected one of {', '.join(AUDIO_COMPONENTS)}, got {component!r}"
        )
    location = Path(path).expanduser()
    decoded = decoded_audio(location)
    stat = location.stat()
    return _cached(location, component, decoded.note, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)  # a 30-minute analysis holds about 45 MB
def _cached(path: Path, component: str, note: str, _size: int, _mtime_ns: int) -> AudioAnalysis:
    try:
        return _analyse(path, component, note)
    except NonFiniteSamples as exc:  # changed since it was checked
        raise SettingsError(INPUT_FIELD, f"{path} holds {exc}") from None
    except (RuntimeError, OSError, ValueError) as exc:  # damaged after its header (libsndfile)
        raise unreadable(path, exc, INPUT_FIELD) from exc


def _analyse(path: Path, component: str, note: str) -> AudioAnalysis:
    """Every feature's columns, block by block: one STFT and HPSS a block, then each part's
    mel power and RMS; only the columns are kept."""
    parts = ("percussive", "harmonic")
    amp, perc, harm, mel, own_mel = [], [], [], [], []
    samples = 0
    for block in blocks(mono_chunks(path), FEATURE_BLOCK):
        samples = block.low + block.samples.size
        windows = [
            block_window(part, block) for part in (block.samples, *separate(block.samples, parts))
        ]
        full = block_mel(windows[0])
        mel.append(full)
        amp.append(block_rms(windows[0]))
        perc.append(block_rms(windows[1]))
        harm.append(block_rms(windows[2]))
        if component != "both":
            own_mel.append(block_mel(windows[1 if component == "percussive" else 2]))
    mel_power = np.concatenate(mel, axis=1)
    own = mel_power if component == "both" else np.concatenate(own_mel, axis=1)
    del own_mel
    onset = onset_strength(own)
    del own
    tempo, beat_columns = beat_track(onset)
    return AudioAnalysis(
        duration=samples / SAMPLE_RATE,
        note=note,
        amp=np.concatenate(amp),
        perc=np.concatenate(perc),
        harm=np.concatenate(harm),
        onset=onset.astype(np.float64),
        mel=mel_power,
        beats=onset_times(np.asarray(beat_columns)),
        tempo=tempo,
    )


TEMPOGRAM_WINDOW = 384  # librosa's default autocorrelation window, in columns
TEMPOGRAM_CHUNK = 4096  # columns autocorrelated at a time


def beat_track(onset: np.ndarray) -> tuple[float, np.ndarray]:
    """librosa's ``beat.beat_track`` of an onset envelope (its tempo estimate and beat
    columns), with the tempogram that estimate averages made a chunk of columns at a time:
    librosa's whole-track tempogram takes 384 floats a column (1.6 GB for 30 minutes)."""
    if onset.size == 0 or not onset.any():
        return 0.0, np.zeros(0, dtype=np.int64)
    half = TEMPOGRAM_WINDOW // 2  # as tempogram(center=True) pads
    padded = np.pad(onset, (half, half), mode="linear_ramp", end_values=(0, 0))
    total = np.zeros(TEMPOGRAM_WINDOW)
    for first in range(0, onset.size, TEMPOGRAM_CHUNK):
        last = min(first + TEMPOGRAM_CHUNK, onset.size)
        chunk = padded[first : last + TEMPOGRAM_WINDOW - 1]
        tempogram = librosa.feature.tempogram(
            onset_envelope=chunk, sr=SAMPLE_RATE, hop_length=HOP, center=False
        )
        total += tempogram.sum(axis=1)
    mean = (total / onset.size)[:, np.newaxis]
    tempo = float(librosa.feature.tempo(tg=mean, sr=SAMPLE_RATE, hop_length=HOP)[0])
    _, beats = librosa.beat.beat_track(
        onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP, bpm=tempo, units="frames"
    )
    return tempo, np.asarray(beats)


def band_indices(low: float, high: float) -> np.ndarray:
    """The mel bands whose centres lie in [low, high] Hz; the nearest one when none does."""
    centres = BAND_CENTRES
    inside = np.flatnonzero((centres - low >= 0) & (centres - high <= 0))
    if inside.size:
        return inside
    return np.array([int(np.argmin(np.abs(BAND_CENTRES - (low + high) / 2)))])


def frame_features(
    path: str | Path, fps: float | Fraction, component: str = "percussive"
) -> FrameFeatures:
    """The file's features per output frame at ``fps``, for curves. Nothing is analysed until
    a curve reads a feature (then once per file)."""
    rate = frame_rate(fps)

    def raw(term: AudioTerm) -> np.ndarray:
        return frame_values(audio_analysis(path, component), term, rate)

    return FrameFeatures(raw, rate)


def frame_values(analysis: AudioAnalysis, term: AudioTerm, fps: Fraction) -> np.ndarray:
    """An unsmoothed feature at every frame the audio covers (frame k at k / fps s), 0..1."""
    count = frames_covering(analysis.duration, fps)
    if term.name == "onset":
        return _peaks_per_frame(analysis.onset, count, fps)
    if term.name == "beat":
        values = np.zeros(count)
        values[_frames_of(analysis.beats, count, fps)] = 1.0
        return values
    if term.name == "band":
        series = np.sqrt(analysis.mel[band_indices(term.low, term.high)].sum(axis=0))
    else:
        series = {"amp": analysis.amp, "perc": analysis.perc, "harm": analysis.harm}[term.name]
    columns = np.arange(series.size) * COLUMN_SECONDS
    values = np.interp(frame_times(count, fps), columns, series, right=0.0)
    return _normalised(values, float(series.max(initial=0.0)))


def _normalised(values: np.ndarray, peak: float) -> np.ndarray:
    return values / peak if peak > 0 else np.zeros_like(values)


def _frames_of(times: np.ndarray, count: int, fps: Fraction) -> np.ndarray:
    """The frame nearest each time (halves up), rounded once from the exact rate, in range."""
    frames = np.floor(np.asarray(times, dtype=np.float64) * float(fps) + 0.5).astype(np.int64)
    return np.clip(frames, 0, count - 1)


def _peaks_per_frame(onset: np.ndarray, count: int, fps: Fraction) -> np.ndarray:
    """The onset strength at its peaks (local maxima), each on the frame nearest its time,
    the largest where several share a frame; 0 on frames without a peak."""
    values = np.zeros(count)
    if onset.size < 3 or not onset.max() > 0:
        return values
    middle = onset[1:-1]
    peaks = np.flatnonzero((middle > onset[:-2]) & (middle >= onset[2:]) & (middle > 0)) + 1
    np.maximum.at(values, _frames_of(onset_times(peaks), count, fps), onset[peaks])
    return values / onset.max()


def settings_features(settings: Any) -> FrameFeatures | None:
    """The audio input's features at the settings' fps and component, for the key-frame
    strings of those settings; None without an audio input (nothing is analysed until a
    string reads a feature)."""
    if not settings.audio_input:
        return None
    return frame_features(settings.audio_input, settings.fps, settings.audio_component)
