"""Key-frame prompt text (`0: a corgi` / `60: a lion`) -> sorted key frames."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from giffusion_nb.errors import SettingsError

_KEY_FRAME_LINE = re.compile(r"^\s*(?P<frame>[^:]*?)\s*:(?P<prompt>.*)$", re.DOTALL)
MAX_FRAME = 1_000_000


@dataclass(frozen=True)
class KeyFrame:
    """One key frame: the frame index and the prompt it shows."""

    frame: int
    prompt: str


def parse_prompts(text: str, *, field: str = "prompts") -> tuple[KeyFrame, ...]:
    """Parse ``N: prompt`` lines into key frames sorted by frame.

    Blank lines are skipped; the prompt may itself contain colons. Frames must be
    unique non-negative integers and prompts non-empty. The last few texts parsed are
    remembered, so checking the same prompts again (every field of a panel does) is free.

    >>> parse_prompts("10: a lion\\n0: a corgi: at dawn")
    (KeyFrame(frame=0, prompt='a corgi: at dawn'), KeyFrame(frame=10, prompt='a lion'))
    """
    if not isinstance(text, str):
        raise SettingsError(field, f"expected text, got {type(text).__name__}")
    return _parse_text(text, field)


@functools.lru_cache(maxsize=16)
def _parse_text(text: str, field: str) -> tuple[KeyFrame, ...]:
    key_frames: dict[int, KeyFrame] = {}
    first_line: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key_frame = _parse_line(line, number, field)
        if key_frame.frame in key_frames:
            raise SettingsError(
                field,
                f"key frame {key_frame.frame} appears twice (first on line "
                f"{first_line[key_frame.frame]}); each key frame needs its own number",
                line=number,
            )
        key_frames[key_frame.frame] = key_frame
        first_line[key_frame.frame] = number
    if not key_frames:
        raise SettingsError(field, "expected at least one line like `0: a picture of a corgi`")
    return tuple(key_frames[frame] for frame in sorted(key_frames))


def _parse_line(line: str, number: int, field: str) -> KeyFrame:
    match = _KEY_FRAME_LINE.match(line)
    if match is None:
        raise SettingsError(
            field, f"expected `frame: prompt`, found {_shorten(line)!r} (no colon)", line=number
        )
    frame_text, prompt = match["frame"], match["prompt"].strip()
    if not re.fullmatch(r"[+-]?\d+", frame_text):
        raise SettingsError(
            field,
            f"expected a key frame number (a non-negative integer) before ':', "
            f"found {_shorten(frame_text)!r}",
            line=number,
        )
    frame = int(frame_text)
    if frame < 0:
        raise SettingsError(field, f"key frame {frame} is negative; frames start at 0", line=number)
    if frame > MAX_FRAME:
        raise SettingsError(
            field, f"key frame {frame} is too large (at most {MAX_FRAME})", line=number
        )
    if not prompt:
        raise SettingsError(field, f"key frame {frame} has an empty prompt", line=number)
    return KeyFrame(frame, prompt)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def num_frames(key_frames: Sequence[KeyFrame]) -> int:
    """The animation's length: the last key frame plus one."""
    return key_frames[-1].frame + 1


def format_prompts(key_frames: Sequence[KeyFrame]) -> str:
    """Write key frames back as text, one ``N: prompt`` line each."""
    return "\n".join(f"{key_frame.frame}: {key_frame.prompt}" for key_frame in key_frames)
