"""What the setting checks share: range and file checks, the frames a key-frame string is
checked over, the audio features it may read, and whether the 2D motion moves."""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import parse_curve
from giffusion_nb.keyframes.prompts import num_frames, parse_prompts
from giffusion_nb.limits import check_text, file_kind, shown
from giffusion_nb.media.audio_features import settings_features
from giffusion_nb.media.input_checks import check_media_input
from giffusion_nb.media.motion import MOTION_SETTINGS, settings_motion
from giffusion_nb.settings import Settings

Check = Callable[[Settings], None]
MOTION_FIELDS = MOTION_SETTINGS


def _text(name: str, *, allow_empty: bool, limit: int = 10_000) -> Check:
    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if not allow_empty and not value.strip():
            raise SettingsError(name, "must not be empty")
        if len(value) > limit:
            raise SettingsError(name, f"is too long ({len(value)} characters, at most {limit})")
        check_text(name, value)

    return check


def _range(name: str, low: float, high: float) -> Check:
    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if value is not None:  # None: an optional setting left to the model
            _check_range(name, value, low, high)

    return check


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SettingsError(name, f"expected a value between {low} and {high}, got {shown(value)}")


def _input_file(name: str, kind: str) -> Check:
    """A named input exists and its header reads as ``kind`` (image, video, audio), whether or
    not the render uses it (audio in a GIF with a linear schedule is checked too)."""

    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if value and not Path(value).expanduser().is_file():
            raise SettingsError(name, f"{_what_is(Path(value).expanduser(), value)}")
        if value:
            check_media_input(kind, value, name)

    return check


def _what_is(path: Path, value: str) -> str:
    """Why ``path`` is no file to read: missing, or what it is instead (never opened: a FIFO
    would block)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{value!r} is a symbolic link that loops; expected a file"
        return f"no such file: {value!r}"
    except ValueError:  # a NUL character
        return f"no such file: {value!r}"
    kind = "a character device" if stat.S_ISCHR(mode) else file_kind(mode) or "not a file"
    return f"{value!r} is {kind}, not a file"


def _frames_or_none(settings: Settings) -> int | None:
    """The animation's frame count, or None while the prompts are invalid (they say why)."""
    try:
        return num_frames(parse_prompts(settings.prompts))
    except SettingsError:
        return None


def _frames_for(settings: Settings, text: str, field: str) -> int:
    """The frames a key-frame string is checked over: the animation's, or while the prompts
    are invalid (they say why), the string's own key frames."""
    frames = _frames_or_none(settings)
    if frames is None:
        frames = parse_curve(text, field=field).keyframes[-1][0] + 1
    return frames


def _own_errors(name: str, check: Check) -> Check:
    """``check`` of a key-frame string that may read audio features: an error about another
    setting (the audio input, fps) is that setting's to report, so it is not raised here."""

    def checked(settings: Settings) -> None:
        try:
            check(settings)
        except SettingsError as exc:
            if exc.field == name:
                raise

    return checked


def _features(settings: Settings) -> FrameFeatures | None:
    """The audio features key-frame strings read (analysed once per file, on first use);
    while the fps is wrong, features whose reading raises its error (not this field's)."""
    try:
        return settings_features(settings)
    except SettingsError as exc:
        return FrameFeatures(functools.partial(_raise, exc), Fraction(1))


def _raise(error: SettingsError, *_args: Any) -> NoReturn:
    raise error


def _moves(settings: Settings) -> bool:
    """True when the 2D motion strings move some frame (strings in error count as moving:
    their own fields say what is wrong)."""
    if not any(getattr(settings, name).strip() for name in MOTION_FIELDS):
        return False
    try:
        frames = _frames_or_none(settings) or 1
        return settings_motion(settings, frames, _features(settings)).is_active()
    except SettingsError:
        return True
