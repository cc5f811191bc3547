"""Parse key-frame value strings like ``0: (1.0), 10: (1.05)`` or ``0: (1 + 0.1*onset)`` into
per-frame floats (audio features come in as a ``FrameFeatures``, never read here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import AudioTerm, FrameFeatures
from giffusion_nb.keyframes.expressions import (
    Feature,
    Node,
    Number,
    Reader,
    Token,
    describe_failure,
    evaluate,
    features_in,
)

MAX_TEXT_LENGTH = 10_000
MAX_KEY_FRAME = 1_000_000_000

_EXAMPLE = "'0: (1.0), 10: (2.0)'"


@dataclass(frozen=True)
class Curve:
    """A parsed key-frame value string; ``sources`` holds each key frame's value as typed."""

    keyframes: tuple[tuple[int, Node], ...]
    field: str = "curve"
    sources: tuple[str, ...] = ()
    text: str = ""  # as typed, for line and column in errors

    def values(self, num_frames: int, features: FrameFeatures | None = None) -> np.ndarray:
        """The value at each frame 0..num_frames-1 (float64); audio features, where the
        expressions use them, are read from ``features`` (frame k at k / fps seconds)."""
        if num_frames < 0:
            raise ValueError(f"num_frames must be non-negative, got {num_frames}")
        if features is None:
            self._refuse_audio()
        out = np.empty(num_frames, dtype=np.float64)
        first_frame = self.keyframes[0][0]
        if first_frame > 0 and num_frames > 0:
            out[: min(first_frame, num_frames)] = self._value_at(0, num_frames, features)
        for index, (start, node) in enumerate(self.keyframes):
            if start >= num_frames:
                break
            is_last = index + 1 == len(self.keyframes)
            stop = num_frames if is_last else min(self.keyframes[index + 1][0], num_frames)
            frames = np.arange(start, stop, dtype=np.float64)
            if isinstance(node, Number) and not is_last:
                out[start:stop] = self._interpolate(index, frames, num_frames, features)
            else:
                out[start:stop] = self._checked(index, frames, num_frames, features)
        return out

    def audio_features(self) -> list[Feature]:
        """Every audio feature the key frames read, in the order written."""
        return [feature for _, node in self.keyframes for feature in features_in(node)]

    def audio_terms(self) -> list[AudioTerm]:
        """The distinct audio terms the key frames read (``onset``, ``band(40, 120)``)."""
        return list(dict.fromkeys(feature.term for feature in self.audio_features()))

    def _refuse_audio(self) -> None:
        """An audio feature without an audio input is an error naming where it is written."""
        features = self.audio_features()
        if features:
            first = features[0]
            line, column = line_column(self.text, first.position)
            raise SettingsError(
                self.field,
                f"{first.term.name!r} (line {line}, column {column}) is an audio feature, but "
                "there is no audio input: set audio_input, or take it out",
                position=first.position,
            )

    def is_constant(self) -> bool:
        """True when every key frame holds the same plain number."""
        first = self.keyframes[0][1]
        return all(isinstance(node, Number) and node == first for _, node in self.keyframes)

    def _value_at(self, index: int, num_frames: int, features: FrameFeatures | None) -> float:
        """Key frame ``index``'s entry evaluated at its own frame."""
        frame = np.array([self.keyframes[index][0]], dtype=np.float64)
        return float(self._checked(index, frame, num_frames, features)[0])

    def _interpolate(
        self, index: int, frames: np.ndarray, num_frames: int, features: FrameFeatures | None
    ) -> np.ndarray:
        start, node = self.keyframes[index]
        end = self.keyframes[index + 1][0]
        target = self._value_at(index + 1, num_frames, features)
        weight = (frames - start) / (end - start)
        return node.value * (1.0 - weight) + target * weight  # a convex mix never overflows

    def _checked(
        self, index: int, frames: np.ndarray, num_frames: int, features: FrameFeatures | None
    ) -> np.ndarray:
        start, node = self.keyframes[index]
        max_f = float(num_frames - 1)
        values = evaluate(node, frames, max_f, features)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            frame = int(frames[bad[0]])
            problem = describe_failure(node, float(frame), max_f, features)
            raise SettingsError(
                self.field, f"the expression at key frame {start} gives {problem} at frame {frame}"
            )
        return values


def _check_text(text: str, field: str) -> None:
    if not isinstance(text, str):
        raise SettingsError(field, f"expected a text like {_EXAMPLE}, found {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise SettingsError(
            field, f"the text is too long ({len(text)} characters, at most {MAX_TEXT_LENGTH})"
        )
    if not text.strip():
        raise SettingsError(
            field, f"expected key frames like {_EXAMPLE} or a number, found an empty text"
        )


def _check_unique(pairs: list[tuple[int, Node, str]], field: str) -> None:
    seen = set()
    for frame, _, _ in pairs:
        if frame in seen:
            raise SettingsError(field, f"key frame {frame} appears twice")
        seen.add(frame)


def _is_bare_number(tokens: list[Token]) -> bool:
    """A text like ``1.0`` or ``-2``: signs, then one number and nothing else."""
    signs = 0
    while tokens[signs].kind == "op" and tokens[signs].text in ("+", "-"):
        signs += 1
    return [token.kind for token in tokens[signs:]] == ["number", "end"]


def _parse_keyframes(reader: Reader, text: str) -> list[tuple[int, Node, str]]:
    """``frame: (value)`` triples with the value's text, or a bare (signed) number meaning a
    constant."""
    if _is_bare_number(reader.tokens):
        return [(0, reader.parse_expression(), text.strip())]
    pairs = []
    while True:
        frame = _parse_key_frame_number(reader)
        reader.expect(":", f"':' after key frame {frame}")
        opening = reader.token
        reader.expect("(", "'(' after ':'")
        value = reader.parse_expression()
        source = text[opening.position + 1 : reader.token.position].strip()
        pairs.append((frame, value, source))
        reader.expect(")", f"an operator or ')' to close the '(' at position {opening.position}")
        if reader.token.kind == "end":
            return pairs
        if reader.token.text == ")":
            raise reader.error("expected ',' between key frames, found ')' with no matching '('")
        reader.expect(",", "',' between key frames")
        if reader.token.kind == "end":  # trailing comma
            return pairs


def _parse_key_frame_number(reader: Reader) -> int:
    token = reader.token
    if token.kind != "number" or not token.text.isdigit():
        raise reader.error(
            f"expected a key frame number (a non-negative integer), found {token.describe()}"
        )
    digits = token.text.lstrip("0") or "0"  # int() refuses 4300 digits, leading zeros too
    if len(digits) > len(str(MAX_KEY_FRAME)) or int(digits) > MAX_KEY_FRAME:
        raise reader.error(f"key frame {token.describe()} is too large (at most {MAX_KEY_FRAME})")
    reader.advance()
    return int(digits)


def parse_curve(text: str, *, field: str = "curve") -> Curve:
    """Parse ``frame: (value)`` pairs (or a bare number) into a Curve; SettingsError on mistakes."""
    _check_text(text, field)
    pairs = sorted(_parse_keyframes(Reader(text, field=field), text), key=lambda pair: pair[0])
    _check_unique(pairs, field)
    keyframes = tuple((frame, node) for frame, node, _ in pairs)
    return Curve(keyframes, field, tuple(source for _, _, source in pairs), text)


def curve_values(
    text: str, num_frames: int, *, field: str = "curve", features: FrameFeatures | None = None
) -> np.ndarray:
    """Parse ``text`` and return its value at each of ``num_frames`` frames (audio features
    from ``features``; using one without them is an error on ``field``)."""
    return parse_curve(text, field=field).values(num_frames, features)


def line_column(text: str, position: int) -> tuple[int, int]:
    """The 1-based line and column of character ``position`` of ``text``."""
    before = text[:position]
    line = before.count("\n") + 1
    return line, position - before.rfind("\n")


def check_range(values: np.ndarray, low: float, high: float, *, field: str) -> None:
    """Raise SettingsError naming the first frame whose value is outside [low, high]."""
    values = np.asarray(values, dtype=np.float64)
    outside = np.flatnonzero(~((values >= low) & (values <= high)))  # nan counts as outside
    if outside.size:
        frame = int(outside[0])
        raise SettingsError(
            field,
            f"frame {frame} has value {float(values[frame])!r}, "
            f"expected a value in [{low:g}, {high:g}]",
        )
