"""Audio features in key-frame expressions: the terms (``onset``, ``band(40, 120)``,
``amp(0.01, 0.3)``), their smoothing, and the per-frame values a curve reads.

The analysis itself (decoding, spectra, beats) lives in ``media/``; it hands a curve a
``FrameFeatures`` whose ``raw`` gives each feature once per output frame, normalised to 0..1
over the whole track. Nothing here reads files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# name: what it is, for help texts and errors
FEATURES = {
    "amp": "loudness (RMS amplitude)",
    "onset": "onset strength (how much new sound starts)",
    "beat": "1 on the frame of each beat, else 0",
    "perc": "loudness of the percussive part",
    "harm": "loudness of the harmonic part",
    "band": "loudness between two frequencies, band(low_hz, high_hz)",
}
MAX_SMOOTHING_SECONDS = 10.0
NYQUIST_HZ = 11025.0  # the analysis runs at 22050 Hz


@dataclass(frozen=True)
class AudioTerm:
    """One audio feature as an expression uses it: ``name``, a band's edges in Hz (``band``
    only), and its attack and release in seconds (0: none)."""

    name: str
    low: float = 0.0
    high: float = 0.0
    attack: float = 0.0
    release: float = 0.0

    @property
    def raw(self) -> AudioTerm:
        """The same feature without smoothing."""
        return AudioTerm(self.name, self.low, self.high)

    def describe(self) -> str:
        """The term as it would be written: ``onset``, ``band(40, 120, 0, 0.2)``."""
        args = [self.low, self.high] if self.name == "band" else []
        if self.attack or self.release:
            args += [self.attack, self.release]
        return self.name + (f"({', '.join(f'{arg:g}' for arg in args)})" if args else "")


class TermError(ValueError):
    """A feature's arguments are wrong: ``index`` is the argument at fault (None: the call)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.message, self.index = message, index


def feature_usage(name: str) -> str:
    """How feature ``name`` is written, for errors."""
    if name == "band":
        return "band(low_hz, high_hz) or band(low_hz, high_hz, attack_s, release_s)"
    return f"{name} or {name}(attack_s, release_s)"


def make_term(name: str, args: list[float]) -> AudioTerm:
    """The term ``name(*args)``; ``TermError`` for a wrong count or a value out of range."""
    band = name == "band"
    if len(args) not in ((2, 4) if band else (0, 2)):
        raise TermError(f"{name!r} takes {feature_usage(name)}, found {len(args)} arguments")
    low = high = 0.0
    if band:
        low, high = args[:2]
        if not 0 <= low < high <= NYQUIST_HZ:
            raise TermError(
                f"expected 0 <= low_hz < high_hz <= {NYQUIST_HZ:g} in {feature_usage(name)}, "
                f"found {low:g} and {high:g}",
                0,
            )
    smoothing = args[2:] if band else args
    for offset, seconds in enumerate(smoothing):
        if not 0 <= seconds <= MAX_SMOOTHING_SECONDS:
            raise TermError(
                f"attack and release are seconds from 0 to {MAX_SMOOTHING_SECONDS:g}, found "
                f"{seconds:g}",
                len(args) - len(smoothing) + offset,
            )
    attack, release = smoothing if smoothing else (0.0, 0.0)
    return AudioTerm(name, low, high, attack, release)


def smooth(values: np.ndarray, attack: float, release: float, fps: Fraction) -> np.ndarray:
    """A one-pole envelope follower over frames: it rises towards a louder value with time
    constant ``attack`` and falls towards a quieter one with ``release`` (seconds; 0 follows at
    once). Starts at the first frame's value."""
    values = np.asarray(values, dtype=np.float64)
    if not (attack or release) or values.size == 0:
        return values.copy()
    up = _coefficient(attack, fps)
    down = _coefficient(release, fps)
    out = np.empty_like(values)
    level = float(values[0])
    for index, value in enumerate(values.tolist()):
        level += (value - level) * (up if value > level else down)
        out[index] = level
    return out


def _coefficient(seconds: float, fps: Fraction) -> float:
    """How far a one-pole filter moves towards its input in one frame."""
    if seconds <= 0:
        return 1.0
    return 1.0 - math.exp(-1.0 / (seconds * float(fps)))


class FrameFeatures:
    """Audio features per output frame, as curves read them.

    ``raw(term)`` gives an unsmoothed feature for every frame the audio covers (frame k
    describes the audio at exactly k / fps seconds); frames past the audio are silent (0).
    Smoothed series are made once per term and kept.
    """

    def __init__(
        self, raw: Callable[[AudioTerm], np.ndarray], fps: Fraction, *, offset: int = 0
    ) -> None:
        self._raw, self.fps, self.offset = raw, fps, offset
        self._series: dict[AudioTerm, np.ndarray] = {}

    def shifted(self, offset: int) -> FrameFeatures:
        """The same features with frame 0 at this object's frame ``offset`` (a segment of the
        interpolation curve reads its own frames from 0)."""
        view = FrameFeatures(self._raw, self.fps, offset=self.offset + offset)
        view._series = self._series  # one cache for every view
        return view

    def values(self, term: AudioTerm, frames: np.ndarray) -> np.ndarray:
        """The term's value at each of ``frames`` (whole frame numbers, from this view's 0)."""
        index = np.rint(np.asarray(frames, dtype=np.float64)).astype(np.int64) + self.offset
        if index.size == 0:
            return np.zeros(0)
        series = self.series(term, int(index.max()) + 1)
        return series[np.clip(index, 0, None)]

    def series(self, term: AudioTerm, count: int) -> np.ndarray:
        """The term at frames 0 .. count-1 of the whole track (not shifted), read-only."""
        known = self._series.get(term)
        if known is not None and known.size >= count:
            return known
        raw = np.asarray(self._raw(term.raw), dtype=np.float64)
        length = max(count, raw.size)
        padded = np.zeros(length)
        padded[: raw.size] = raw
        result = smooth(padded, term.attack, term.release, self.fps)
        result.setflags(write=False)
        self._series[term] = result
        return result
