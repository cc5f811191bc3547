"""Audio decoded and analysed in blocks: the mel power spectrogram of a whole file (or of its
percussive or harmonic part) in memory that does not grow with the file's length, and the
pieces other analyses (audio features) build from: blocks, their windows, HPSS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile
import soxr
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_RATE = 22050
HOP = 512  # librosa's default hop: onset envelope and mel spectrogram columns
N_FFT = 2048
N_MELS = 128  # librosa's default mel bands
KERNEL = 31  # librosa's HPSS median filter length, in columns (time) and bins (frequency)
BLOCK = 2048 * HOP  # 47.6 s of samples analysed at a time
# Context on each side of a block: HPSS reaches 15 columns through its median filter and 4
# more through the STFT windows, the mel window 2 more; the rest is a safety margin.
MARGIN = 64 * HOP
_READ = 2**16  # samples decoded at a time
COLUMN_SECONDS = HOP / SAMPLE_RATE  # 23.2 ms between columns


@dataclass(frozen=True)
class AudioHeader:
    """What an audio file's header says, read without decoding the samples."""

    sample_rate: int
    frames: int
    channels: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate > 0 else 0.0


def read_header(path: Path) -> AudioHeader:
    """The header of the audio at ``path`` (soundfile: WAV, FLAC, OGG, MP3 and more)."""
    info = soundfile.info(str(path))
    return AudioHeader(info.samplerate, info.frames, info.channels, info.format)


def mel_power(path: Path, component: str) -> np.ndarray:
    """The (128 bands, columns) mel power spectrogram of the audio at ``SAMPLE_RATE``, of the
    signal as is (``both``) or of its ``percussive`` or ``harmonic`` part.

    Equal (to float rounding) to librosa's ``melspectrogram`` of ``librosa.effects.<component>``
    of the whole file loaded at 22050 Hz, but computed block by block: each block is separated
    with ``MARGIN`` samples of context on both sides, so only the spectrogram (128 floats a
    column) grows with the file.
    """
    columns = [
        block_mel(block_window(_separate(block.samples, component), block))
        for block in blocks(mono_chunks(path))
    ]
    return np.concatenate(columns, axis=1)


@dataclass(frozen=True)
class Block:
    """One block of the signal: ``samples`` from sample ``low`` (the block's ``count``
    columns from sample ``start``, with up to ``MARGIN`` samples of context each side)."""

    samples: np.ndarray
    low: int
    start: int
    count: int


def blocks(chunks: Iterator[np.ndarray], size: int | None = None) -> Iterator[Block]:
    """The signal in ``chunks`` cut into blocks of ``size`` samples (default ``BLOCK``; a
    multiple of ``HOP``) with their context; the last block has the columns up to the
    signal's end."""
    block = BLOCK if size is None else size
    buffer, buffer_start, ended = np.zeros(0, np.float32), 0, False
    start = 0  # the block's first sample; always a multiple of HOP
    while True:
        pieces = [buffer]
        have = buffer_start + buffer.size
        while not ended and have < start + block + MARGIN:
            chunk = next(chunks, None)
            if chunk is None:
                ended = True
            else:
                pieces.append(chunk)
                have += chunk.size
        buffer = np.concatenate(pieces)
        end = buffer_start + buffer.size
        count = block // HOP if not ended else min(block // HOP, 1 + end // HOP - start // HOP)
        if count <= 0:
            return
        low = max(0, start - MARGIN)
        segment = buffer[low - buffer_start : min(end, start + block + MARGIN) - buffer_start]
        yield Block(segment, low, start, count)
        start += block
        keep = max(0, start - MARGIN - buffer_start)
        buffer, buffer_start = buffer[keep:], buffer_start + keep


def block_window(separated: np.ndarray, block: Block) -> np.ndarray:
    """The samples the block's columns see: column i's ``N_FFT`` window starts at
    ``i * HOP`` of the result (centred on its sample; zeros past the signal's ends)."""
    first = block.start - N_FFT // 2
    window = np.zeros((block.count - 1) * HOP + N_FFT, np.float32)
    begin = max(first, block.low)
    stop = min(first + window.size, block.low + separated.size)
    window[begin - first : stop - first] = separated[begin - block.low : stop - block.low]
    return window


def block_mel(window: np.ndarray) -> np.ndarray:
    """The mel power columns of a ``block_window``."""
    count = (window.size - N_FFT) // HOP + 1
    if not window.any():  # digital silence: no energy in any band
        return np.zeros((N_MELS, count), np.float32)
    return librosa.feature.melspectrogram(
        y=window, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, center=False
    )


def block_rms(window: np.ndarray) -> np.ndarray:
    """The RMS of each column's ``N_FFT`` samples (librosa's ``feature.rms``, centred)."""
    frames = sliding_window_view(window, N_FFT)[::HOP]
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


ONSET_CHUNK = 4096  # columns of a spectrogram turned into onset strength at a time
TOP_DB = 80.0  # librosa's power_to_db floor: this far below the loudest bin


def onset_strength(mel: np.ndarray) -> np.ndarray:
    """librosa's ``onset.onset_strength(S=power_to_db(mel))`` (float rounding aside), a chunk
    of columns at a time: the whole-track version holds several copies of the spectrogram.
    The dB floor is the whole track's (``TOP_DB`` under its loudest bin), so each chunk is
    floored alike, and a chunk starts one column early for its first difference."""
    count = mel.shape[-1]
    peak = float(librosa.power_to_db(np.array([mel.max(initial=0.0)]), top_db=None)[0])
    uncentred = np.zeros(count)
    for first in range(0, count, ONSET_CHUNK):
        start = max(0, first - 1)
        decibels = librosa.power_to_db(mel[:, start : first + ONSET_CHUNK], top_db=None)
        np.maximum(decibels, peak - TOP_DB, out=decibels)
        part = librosa.onset.onset_strength(
            S=decibels, sr=SAMPLE_RATE, hop_length=HOP, center=False
        )
        uncentred[first : first + ONSET_CHUNK] = part[first - start :]
    shift = N_FFT // (2 * HOP)  # librosa's centring: onsets move by half a window
    return np.concatenate([np.zeros(shift), uncentred])[:count]


def onset_times(columns: np.ndarray) -> np.ndarray:
    """The times (s) of onset-strength columns: a column measures the change from the column
    before, so it stands for the time half a column earlier (a click at t peaks in the column
    at t + 5..25 ms)."""
    return np.maximum(0.0, (np.asarray(columns, dtype=np.float64) - 0.5) * COLUMN_SECONDS)


class NonFiniteSamples(ValueError):
    """The audio holds samples that are NaN or infinite; ``seconds``: the first one's time."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"a sample that is not a finite number at {seconds:.2f} s")
        self.seconds = seconds


def decoded_frames(path: Path) -> int:
    """How many sample frames of the file decode, reading it through once (a truncated file
    decodes fewer than its header says); ``NonFiniteSamples`` at the first NaN or infinity."""
    with soundfile.SoundFile(str(path)) as file:
        read = 0
        for block in _read_blocks(file):
            _check_finite(block, read, file.samplerate)
            read += block.shape[0]
    return read


def _read_blocks(file: soundfile.SoundFile) -> Iterator[np.ndarray]:
    """The file's samples, ``_READ`` frames at a time, as far as they decode. (soundfile's
    ``blocks()`` keeps yielding a stale buffer past a truncated file's real end.)"""
    while True:
        block = file.read(_READ, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            return
        yield block


def _check_finite(block: np.ndarray, offset: int, rate: int) -> None:
    finite = np.isfinite(block).all(axis=1)
    if not finite.all():
        raise NonFiniteSamples((offset + int(np.argmin(finite))) / rate)


def mono_chunks(path: Path) -> Iterator[np.ndarray]:
    """The audio as float32 mono samples at ``SAMPLE_RATE``, decoded and resampled as a stream
    (channels averaged, as librosa does; soxr's high-quality resampler), as far as it
    decodes; ``NonFiniteSamples`` at a NaN or infinite sample."""
    with soundfile.SoundFile(str(path)) as file:
        rate = file.samplerate
        stream = None
        if rate != SAMPLE_RATE:
            stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        read = sent = 0
        for block in _read_blocks(file):
            _check_finite(block, read, rate)
            mono = block.mean(axis=1, dtype=np.float32)
            read += mono.size
            chunk = mono if stream is None else stream.resample_chunk(mono)
            expected = -(-read * SAMPLE_RATE // rate)  # ceil: librosa's length after resampling
            chunk = chunk[: max(0, expected - sent)]
            sent += chunk.size
            yield chunk
        if stream is not None:
            expected = -(-read * SAMPLE_RATE // rate)
            tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)[: expected - sent]
            yield np.concatenate([tail, np.zeros(expected - sent - tail.size, np.float32)])


def _separate(samples: np.ndarray, component: str) -> np.ndarray:
    """librosa's ``effects.percussive`` / ``effects.harmonic`` of ``samples`` (``both``: them
    as they are); digital silence stays silence without the work."""
    if component == "both" or not samples.any():
        return samples
    return separate(samples, (component,))[0]


def separate(samples: np.ndarray, components: tuple[str, ...]) -> list[np.ndarray]:
    """The ``percussive`` and/or ``harmonic`` parts of ``samples`` (librosa's HPSS: median
    filters over time and frequency, soft masks), from one STFT."""
    if not samples.any():
        return [samples for _ in components]
    stft = librosa.stft(samples, n_fft=N_FFT, hop_length=HOP)
    magnitude, phase = librosa.magphase(stft)
    harmonic = _median_filter(magnitude, axis=-1)  # along time
    percussive = _median_filter(magnitude, axis=-2)  # along frequency
    parts = []
    for component in components:
        if component == "percussive":
            mask = librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True)
        else:
            mask = librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True)
        parts.append(
            librosa.istft(
                magnitude * mask * phase,
                dtype=samples.dtype,
                n_fft=N_FFT,
                hop_length=HOP,
                length=samples.size,
            )
        )
    return parts


def _median_filter(values: np.ndarray, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter`` over ``KERNEL`` values along ``axis`` with its
    ``reflect`` edges, as partial sorts of sliding windows (the same values, 4x faster)."""
    half = KERNEL // 2
    moved = np.moveaxis(values, axis, -1)
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(half, half)], mode="symmetric")
    result = np.empty_like(moved)
    step = max(1, 2**21 // (KERNEL * max(1, moved[..., 0].size)))  # windows a slice: ~8 MB
    for first in range(0, moved.shape[-1], step):
        windows = sliding_window_view(padded[..., first : first + step + 2 * half], KERNEL, -1)
        result[..., first : first + windows.shape[-2]] = np.partition(windows, half, -1)[..., half]
    return np.moveaxis(result, -1, axis)
