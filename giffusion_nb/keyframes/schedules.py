"""Interpolation schedules: how far (t in [0, 1]) each frame is between two key frames."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from giffusion_nb.choices import INTERPOLATION_TYPES
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import check_range, curve_values, parse_curve

AudioSchedule = Callable[[int, int], np.ndarray]

_ARGS_FIELD = "interpolation_args"
_TYPE_FIELD = "interpolation_type"
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class FrameStep:
    """Which key-frame pair an output frame sits between, and how far along."""

    frame: int  # output frame index
    segment: int  # i of the pair (key_frames[i], key_frames[i + 1]); the last index past the end
    t: float  # 0 = key_frames[segment]'s prompt/latent, 1 = key_frames[segment + 1]'s


def _check_length(length: int) -> None:
    if length < 1:
        raise ValueError(f"a schedule needs at least one frame, got length {length}")


def linear_schedule(length: int) -> np.ndarray:
    """Evenly spaced t from exactly 0 to exactly 1."""
    _check_length(length)
    return np.linspace(0.0, 1.0, length)


def sine_schedule(length: int, frequencies: Sequence[float]) -> np.ndarray:
    """Sum of sin(pi * f * x)**2 over the frequencies, scaled so its maximum is 1."""
    _check_length(length)
    x = np.linspace(0.0, 1.0, length)
    y = sum((np.sin(np.pi * f * x) ** 2 for f in frequencies), np.zeros(length))
    peak = float(y.max())
    if peak < 1e-12:
        return np.zeros(length)
    return y / peak


def parse_frequencies(text: str, *, field: str = _ARGS_FIELD) -> list[float]:
    """Parse comma-separated positive frequencies like ``"1.0, 2.0"``; blank means ``[1.0]``."""
    if not text.strip():
        return [1.0]
    frequencies = []
    offset = 0
    items = text.split(",")
    if not items[-1].strip():  # allow a trailing comma
        items.pop()
    for item in items:
        position = offset + len(item) - len(item.lstrip())
        frequencies.append(_parse_frequency(item.strip(), position, field))
        offset += len(item) + 1
    return frequencies


def _quote(item: str) -> str:
    if not item:
        return "nothing"
    return repr(item if len(item) <= 20 else item[:20] + "...")


def _parse_frequency(item: str, position: int, field: str) -> float:
    found = _quote(item)
    if not _NUMBER.fullmatch(item):
        raise SettingsError(
            field, f"expected a frequency (a positive number), found {found}", position=position
        )
    value = float(item)
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(
            field, f"expected a positive finite frequency, found {found}", position=position
        )
    return value


def check_interpolation_type(kind: str, audio_available: bool) -> None:
    """The interpolation type is known, and ``audio`` has an audio input to follow."""
    if kind not in INTERPOLATION_TYPES:
        expected = ", ".join(INTERPOLATION_TYPES)
        raise SettingsError(
            _TYPE_FIELD, f"unknown interpolation type {kind!r}, expected one of {expected}"
        )
    if kind == "audio" and not audio_available:
        raise SettingsError(
            _TYPE_FIELD, "the audio schedule needs an audio input, but none was given"
        )


def check_schedule(kind: str, args: str, audio_available: bool = False) -> None:
    """Validate the interpolation type and its arguments without computing anything.

    A curve's [0, 1] range depends on the segment length, so it is checked per segment later.
    """
    check_interpolation_type(kind, audio_available)
    if kind == "sine":
        parse_frequencies(args, field=_ARGS_FIELD)
    elif kind == "curve":
        parse_curve(args, field=_ARGS_FIELD)


def segment_schedule(
    kind: str,
    start: int,
    end: int,
    args: str = "",
    audio: AudioSchedule | None = None,
    features: FrameFeatures | None = None,
) -> np.ndarray:
    """t for frames start..end (inclusive) of one segment: 0 at ``start``. A curve is read
    from the segment's start; its audio features at the frames' own times."""
    check_interpolation_type(kind, audio is not None)
    if end < start:
        raise ValueError(f"segment end {end} is before its start {start}")
    length = end - start + 1
    if kind == "linear":
        return linear_schedule(length)
    if kind == "sine":
        return sine_schedule(length, parse_frequencies(args, field=_ARGS_FIELD))
    if kind == "curve":
        shifted = None if features is None else features.shifted(start)
        values = curve_values(args, length, field=_ARGS_FIELD, features=shifted)
        check_range(values, 0.0, 1.0, field=_ARGS_FIELD)
        return values
    return _audio_schedule(audio, start, end)


def _audio_schedule(audio: AudioSchedule, start: int, end: int) -> np.ndarray:
    values = np.asarray(audio(start, end), dtype=np.float64)
    expected = end - start + 1
    if values.shape != (expected,):
        raise ValueError(
            f"the audio schedule gave shape {values.shape} for frames {start}..{end}, "
            f"expected ({expected},)"
        )
    return values


def frame_schedule(
    key_frames: Sequence[int],
    num_frames: int,
    kind: str = "linear",
    args: str = "",
    audio: AudioSchedule | None = None,
    features: FrameFeatures | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each output frame's segment (the key frame it travels from) and t, as two arrays.

    Key frames are sorted, unique and non-negative. Frames before the first key frame show
    it (segment 0, t 0); frames from the last key frame on show the last one.
    """
    if not key_frames:
        raise ValueError("frame_schedule needs at least one key frame")
    check_schedule(kind, args, audio_available=audio is not None)
    last = len(key_frames) - 1
    segments = np.full(num_frames, last, dtype=np.int64)
    t = np.zeros(num_frames, dtype=np.float64)
    segments[: min(key_frames[0], num_frames)] = 0
    for segment in range(last):
        start, end = key_frames[segment], key_frames[segment + 1]
        if start >= num_frames:
            break
        stop = min(end, num_frames)
        segments[start:stop] = segment
        t[start:stop] = segment_schedule(kind, start, end, args, audio, features)[: stop - start]
    return segments, t


def frame_steps(
    key_frames: Sequence[int],
    num_frames: int,
    kind: str = "linear",
    args: str = "",
    audio: AudioSchedule | None = None,
) -> list[FrameStep]:
    """One FrameStep per output frame (``frame_schedule`` as a list)."""
    segments, t = frame_schedule(key_frames, num_frames, kind, args, audio)
    return [
        FrameStep(frame, int(segment), float(value))
        for frame, (segment, value) in enumerate(zip(segments, t, strict=True))
    ]
