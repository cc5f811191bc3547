"""The `lora` setting's text: one adapter a line, ``SOURCE @ SCALE``, the scale a number or a
key-frame string; and every frame's scales."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import Curve, check_range, parse_curve

MAX_ADAPTERS = 16
MAX_LORA_CHARS = 20_000
MAX_SCALE = 4.0  # scales run from -4 to 4 (1 is the adapter as trained, 0 switches it off)
EXAMPLE = "`styles/ink.safetensors @ 0: (0.0), 24: (1.0)`"


@dataclass(frozen=True)
class LoraLine:
    """One adapter of the `lora` setting: where its weights are (as typed), its scale as typed
    (a number or a key-frame string) and the line it is on."""

    source: str
    scale: str
    line: int

    def curve(self) -> Curve:
        """The scale as a curve (a number is a constant)."""
        return _scale_curve(self.scale, self.line)


def parse_lora(text: str, *, field: str = "lora") -> tuple[LoraLine, ...]:
    """The adapters of the `lora` setting, one a line (blank lines skipped); ``@ SCALE`` may
    be left out for a scale of 1.

    >>> ink, hub = parse_lora("ink.safetensors @ 0: (0), 24: (1)\\nowner/name")
    >>> (ink.source, ink.scale), (hub.source, hub.scale, hub.line)
    (('ink.safetensors', '0: (0), 24: (1)'), ('owner/name', '1', 2))
    """
    if not isinstance(text, str):
        raise SettingsError(field, f"expected text, got {type(text).__name__}")
    if len(text) > MAX_LORA_CHARS:
        raise SettingsError(field, f"is {len(text):,} characters long; at most {MAX_LORA_CHARS:,}")
    return _parse_text(text, field)


@functools.lru_cache(maxsize=16)
def _parse_text(text: str, field: str) -> tuple[LoraLine, ...]:
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(lines) == MAX_ADAPTERS:
            raise SettingsError(field, f"lists more than {MAX_ADAPTERS} adapters", line=number)
        source, at, scale = line.rpartition("@")
        if not at:
            source, scale = line, "1"
        source, scale = source.strip(), scale.strip()
        if not source:
            raise SettingsError(
                field, f"expected an adapter before '@', like {EXAMPLE}", line=number
            )
        if not scale:
            raise SettingsError(
                field,
                f"expected a scale after '@' (a number, or key frames like {EXAMPLE})",
                line=number,
            )
        _scale_curve(scale, number, field)
        lines.append(LoraLine(source, scale, number))
    return tuple(lines)


@functools.lru_cache(maxsize=64)
def _scale_curve(scale: str, line: int, field: str = "lora") -> Curve:
    try:
        return parse_curve(scale, field=field)
    except SettingsError as exc:
        where = "" if exc.position is None else f" (character {exc.position} of the scale)"
        raise SettingsError(field, f"the scale: {exc.message}{where}", line=line) from None


def lora_scales(
    lines: tuple[LoraLine, ...],
    num_frames: int,
    *,
    field: str = "lora",
    features: FrameFeatures | None = None,
) -> np.ndarray:
    """Every frame's scale of every adapter, ``(num_frames, adapters)``, read-only; a scale
    outside -4..4 at some frame is an error naming the line. Audio features come from
    ``features``."""
    scales = np.empty((num_frames, len(lines)))
    for column, line in enumerate(lines):
        try:
            values = line.curve().values(num_frames, features)
            check_range(values, -MAX_SCALE, MAX_SCALE, field=field)
        except SettingsError as exc:
            raise SettingsError(field, f"the scale: {exc.message}", line=line.line) from None
        scales[:, column] = values
    scales.setflags(write=False)
    return scales


def scale_frames(lines: tuple[LoraLine, ...]) -> int:
    """The frames the scales' own key frames span (to check them while the prompts are wrong)."""
    return max((line.curve().keyframes[-1][0] + 1 for line in lines), default=1)
