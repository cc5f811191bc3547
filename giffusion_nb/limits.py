"""Size limits on user input (numbers, files, JSON text) and the bounded readers that keep them."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Any

from giffusion_nb.errors import SettingsError

MAX_INT_DIGITS = 30  # no setting takes more (seeds stop at 19 digits); Python's int() at 4300
MAX_SETTINGS_BYTES = 2_000_000  # a settings.json: room for the longest prompts, escaped
MAX_PROMPTS_FILE_BYTES = 1_000_000  # a `--prompts` file
MAX_JSON_CHARS = 100_000  # scheduler_kwargs / pipeline_kwargs as JSON text
_BIG = 10**MAX_INT_DIGITS


class LongNumber:
    """A JSON integer with more than ``MAX_INT_DIGITS`` digits, kept as its digit count so that
    the setting it was given for can say so (Python refuses to convert 4300 digits and more)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"


def _parse_int(text: str) -> int | LongNumber:
    digits = len(text.lstrip("-").lstrip("0"))
    return LongNumber(digits) if digits > MAX_INT_DIGITS else int(text)


def loads_json(text: str) -> Any:
    """``json.loads`` that never converts a huge integer: it becomes a ``LongNumber``."""
    return json.loads(text, parse_int=_parse_int)


def digit_count(value: int) -> int:
    """About how many decimal digits ``value`` has, without converting it to text."""
    return max(1, math.ceil(abs(value).bit_length() * math.log10(2)))


def is_long_int(value: Any) -> bool:
    """True for a ``LongNumber`` or an int of more than ``MAX_INT_DIGITS`` digits."""
    if isinstance(value, LongNumber):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _BIG


def long_int_error(field: str, value: Any, what: str = "") -> SettingsError:
    """The error for a too-long integer in ``field`` (``what`` names the key inside it)."""
    digits = value.digits if isinstance(value, LongNumber) else digit_count(value)
    where = f"{what} is " if what else ""
    return SettingsError(
        field,
        f"{where}a number of {digits} digits; expected at most {MAX_INT_DIGITS} digits",
    )


def check_no_long_ints(field: str, value: Any, where: str = "") -> None:
    """Raise ``long_int_error`` for the first too-long integer anywhere inside ``value``."""
    if is_long_int(value):
        raise long_int_error(field, value, where)
    if isinstance(value, dict):
        for key, item in value.items():
            check_no_long_ints(field, item, f"{where}[{key!r}]" if where else repr(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_no_long_ints(field, item, f"{where}[{index}]" if where else f"item {index}")


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for an error message: short, and safe for integers of any size."""
    if is_long_int(value):
        return (
            repr(value) if isinstance(value, LongNumber) else f"a {digit_count(value)}-digit number"
        )
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_text_limited(source: str | Path | IO[bytes], limit: int, field: str) -> str:
    """The UTF-8 text of a file (or binary stream), reading at most ``limit + 1`` bytes: a file
    over ``limit`` bytes (``/dev/zero``, a video passed by mistake) is refused unread."""
    name = "standard input" if source == "-" else str(getattr(source, "name", source))
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        elif hasattr(source, "read"):
            data = source.read(limit + 1)
        else:
            with open(Path(source).expanduser(), "rb") as file:
                data = file.read(limit + 1)
    except OSError as exc:
        raise SettingsError(field, f"cannot read {name!r}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SettingsError(
            field, f"{name!r} is larger than {limit:,} bytes: too large for this input"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            field, f"{name!r} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#x})"
        ) from exc


def parse_json_object(name: str, value: Any) -> dict[str, Any]:
    """A dict from a dict or from JSON text (``{"key": value}``); errors name the position.

    Integers of more than ``MAX_INT_DIGITS`` digits anywhere inside are errors that name
    their key."""
    if isinstance(value, dict):
        check_no_long_ints(name, value)
        return dict(value)
    if not isinstance(value, str):
        raise SettingsError(name, f'expected a JSON object like {{"key": 1}}, got {shown(value)}')
    if not value.strip():
        return {}
    if len(value) > MAX_JSON_CHARS:
        raise SettingsError(
            name, f"the JSON text is too long (at most {MAX_JSON_CHARS} characters)"
        )
    try:
        parsed = loads_json(value)
    except json.JSONDecodeError as exc:
        raise SettingsError(name, f"invalid JSON: {exc.msg}", position=exc.pos) from None
    except RecursionError:
        raise SettingsError(name, "the JSON text is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise SettingsError(
            name, f'expected a JSON object like {{"key": 1}}, got {type(parsed).__name__}'
        )
    check_no_long_ints(name, parsed)
    return parsed


def as_int(name: str, value: Any) -> int:
    """``value`` (an int, an integral float or its text) as an int of at most
    ``MAX_INT_DIGITS`` digits, checked before converting; a ``SettingsError`` naming ``name``."""
    if isinstance(value, str):
        digits = len(value.strip().lstrip("+-").lstrip("0"))
        if digits > MAX_INT_DIGITS:  # before int() converts it
            raise long_int_error(name, LongNumber(digits))
        try:
            value = int(value.strip())
        except ValueError:
            raise SettingsError(name, f"expected an integer, got {shown(value)}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if is_long_int(value):
        raise long_int_error(name, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise SettingsError(name, f"expected an integer, got {shown(value)}")


def as_float(name: str, value: Any) -> float:
    """``value`` (a number or its text) as a finite float; a ``SettingsError`` naming ``name``."""
    if is_long_int(value):
        raise long_int_error(name, value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SettingsError(name, f"expected a number, got {shown(value)}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(name, f"expected a number, got {shown(value)}")
    if not math.isfinite(value):
        raise SettingsError(name, f"expected a finite number, got {value!r}")
    return float(value)
