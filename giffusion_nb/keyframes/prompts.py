"""Key-frame prompt text (`0: a corgi` / `60: a lion --neg blurry` / `80: a lion --image
lion.png`) -> sorted key frames."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.weights import parse_weights
from giffusion_nb.limits import check_text

MAX_FRAME = 1_000_000
MAX_KEY_FRAMES = 10_000  # a key frame per onset of 30 minutes of music fits
MAX_PROMPTS_CHARS = 200_000  # all lines together
MAX_PROMPT_CHARS = 10_000  # one prompt; CLIP reads 77 tokens, T5 512 (~300 and ~2000 characters)
NEGATIVE_MARK = "--neg"  # `12: a lion --neg blurry, dark`: what follows is the key frame's negative
_NEGATIVE = re.compile(r"(?:^|\s)--neg(?=\s|$)")
IMAGE_MARK = "--image"  # `80: a lion --image lion.png`: the picture a video model meets there
_IMAGE = re.compile(r"(?:^|\s)--image(?=\s|$)")


@dataclass(frozen=True)
class KeyFrame:
    """One key frame: the frame index, the prompt it shows, its own negative prompt (``None``:
    the ``negative_prompt`` setting's), its image (a path, for video models that meet a
    picture at a frame; ``None``: none) and the line of the text it was read from."""

    frame: int
    prompt: str
    negative: str | None = None
    line: int = field(default=0, compare=False, repr=False)
    image: str | None = None


def parse_prompts(text: str, *, field: str = "prompts") -> tuple[KeyFrame, ...]:
    """Parse ``N: prompt`` lines into key frames sorted by frame.

    Blank lines are skipped; the prompt may itself contain colons, and ends where ``--neg``
    starts the key frame's negative prompt. Frames must be unique non-negative integers,
    prompts non-empty Unicode text; weights (``(word:1.3)``) must be well formed. The last few
    texts parsed are remembered, so checking the same prompts again (every field of a panel
    does) is free.

    >>> corgi, lion = parse_prompts("10: a lion --neg blurry\\n0: a corgi: at dawn")
    >>> corgi
    KeyFrame(frame=0, prompt='a corgi: at dawn', negative=None)
    >>> lion.prompt, lion.negative, lion.line
    ('a lion', 'blurry', 1)
    """
    if not isinstance(text, str):
        raise SettingsError(field, f"expected text, got {type(text).__name__}")
    if len(text) > MAX_PROMPTS_CHARS:
        raise SettingsError(
            field, f"is {len(text):,} characters long; expected at most {MAX_PROMPTS_CHARS:,}"
        )
    check_text(field, text)  # a lone surrogate: named here, not by the tokenizer
    return _parse_text(text, field)


@functools.lru_cache(maxsize=16)
def _parse_text(text: str, field: str) -> tuple[KeyFrame, ...]:
    key_frames: dict[int, KeyFrame] = {}
    first_line: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(key_frames) == MAX_KEY_FRAMES:
            raise SettingsError(
                field,
                f"has more than {MAX_KEY_FRAMES:,} key frames; expected at most {MAX_KEY_FRAMES:,}",
                line=number,
            )
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
    frame_text, colon, prompt = line.partition(":")  # linear time at any line length
    if not colon:
        raise SettingsError(
            field, f"expected `frame: prompt`, found {_shorten(line)!r} (no colon)", line=number
        )
    frame_text, prompt = frame_text.strip(), prompt.strip()
    if not re.fullmatch(r"[+-]?\d+", frame_text):
        raise SettingsError(
            field,
            f"expected a key frame number (a non-negative integer) before ':', "
            f"found {_shorten(frame_text)!r}",
            line=number,
        )
    digits = frame_text.lstrip("+-").lstrip("0")
    if frame_text.startswith("-") and digits:
        raise SettingsError(
            field, f"key frame {_shorten(frame_text)} is negative; frames start at 0", line=number
        )
    if len(digits) > len(str(MAX_FRAME)):  # checked before int() reads thousands of digits
        raise SettingsError(
            field,
            f"key frame {_shorten(frame_text)} is too large (at most {MAX_FRAME})",
            line=number,
        )
    frame = int(digits or "0")  # without its sign and leading zeros
    if frame > MAX_FRAME:
        raise SettingsError(
            field, f"key frame {frame} is too large (at most {MAX_FRAME})", line=number
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise SettingsError(
            field,
            f"the prompt of key frame {frame} is {len(prompt):,} characters long; expected at "
            f"most {MAX_PROMPT_CHARS:,} (CLIP reads 77 tokens, T5 512: about 300 and 2000)",
            line=number,
        )
    prompt, image = _split_image(prompt, frame, number, field)
    prompt, negative = _split_negative(prompt, frame, number, field)
    if not prompt and image is None:
        raise SettingsError(field, f"key frame {frame} has an empty prompt", line=number)
    parse_weights(prompt, field=field, line=number)
    if negative is not None:
        parse_weights(negative, field=field, line=number, what="the negative prompt")
    return KeyFrame(frame, prompt, negative, number, image)


def _split_image(text: str, frame: int, number: int, field: str) -> tuple[str, str | None]:
    """The text without its ``--image path`` part, and the path (``None`` without one). The
    path runs to the end of the line, or to a ``--neg`` after it."""
    parts = _IMAGE.split(text)
    if len(parts) == 1:
        return text, None
    if len(parts) > 2:
        raise SettingsError(
            field,
            f"key frame {frame} has `{IMAGE_MARK}` {len(parts) - 1} times; one image a key frame",
            line=number,
        )
    before, after = parts
    path, *negative = _NEGATIVE.split(after, maxsplit=1)  # `--image a.png --neg blurry`
    rest = f" {NEGATIVE_MARK} {negative[0]}" if negative else ""
    path = path.strip()
    if not path:
        raise SettingsError(
            field,
            f"key frame {frame} has `{IMAGE_MARK}` and no image path after it",
            line=number,
        )
    return (before.strip() + rest).strip(), path


def _split_negative(prompt: str, frame: int, number: int, field: str) -> tuple[str, str | None]:
    """The prompt and its ``--neg`` part (``None`` without one)."""
    parts = _NEGATIVE.split(prompt)
    if len(parts) == 1:
        return prompt, None
    if len(parts) > 2:
        raise SettingsError(
            field,
            f"key frame {frame} has `{NEGATIVE_MARK}` {len(parts) - 1} times; one negative "
            "prompt a key frame",
            line=number,
        )
    positive, negative = parts[0].strip(), parts[1].strip()
    if not negative:
        raise SettingsError(
            field,
            f"key frame {frame} has `{NEGATIVE_MARK}` and no negative prompt after it",
            line=number,
        )
    return positive, negative


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def num_frames(key_frames: Sequence[KeyFrame]) -> int:
    """The animation's length: the last key frame plus one."""
    return key_frames[-1].frame + 1


def format_prompts(key_frames: Sequence[KeyFrame]) -> str:
    """Write key frames back as text, one ``N: prompt`` (``--neg negative``) line each."""
    return "\n".join(_format(key_frame) for key_frame in key_frames)


def _format(key_frame: KeyFrame) -> str:
    line = f"{key_frame.frame}: {key_frame.prompt}".rstrip()
    if key_frame.negative is not None:
        line += f" {NEGATIVE_MARK} {key_frame.negative}"
    if key_frame.image is not None:
        line += f" {IMAGE_MARK} {key_frame.image}"
    return line
