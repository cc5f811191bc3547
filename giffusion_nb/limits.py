"""Size limits on user input (numbers, files, JSON text) and the bounded readers that keep them."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import IO, Any

from giffusion_nb.errors import SettingsError

MAX_INT_DIGITS = 30  # no setting takes more (seeds stop at 19 digits); Python's int() at 4300
MAX_SETTINGS_BYTES = 2_000_000  # a settings.json: room for the longest prompts, escaped
MAX_PROMPTS_FILE_BYTES = 1_000_000  # a `--prompts` file
MAX_JSON_CHARS = 100_000  # scheduler_kwargs / pipeline_kwargs as JSON text
MAX_JSON_DEPTH = 32  # nested objects and lists in a settings file or a JSON setting
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


def loads_json(text: str, field: str = "settings") -> Any:
    """``json.loads`` that never converts a huge integer (it becomes a ``LongNumber``) and
    refuses what JSON allows but a setting cannot hold: a key given twice (one of the two
    would be dropped) and nesting deeper than ``MAX_JSON_DEPTH``; errors name ``field``."""

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) < len(pairs):
            seen: set[str] = set()
            twice = next(key for key, _ in pairs if key in seen or seen.add(key))
            raise SettingsError(
                field,
                f"the key {shown(twice)} appears twice; one of the two values would be lost "
                "(keep one)",
                line=_second_key_line(text, twice),
            )
        return found

    value = json.loads(text, parse_int=_parse_int, object_pairs_hook=unique_keys)
    check_depth(field, value)
    return value


def _second_key_line(text: str, key: str) -> int | None:
    """The line of ``key``'s second occurrence as an object key in JSON ``text``, if found."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    matches = pattern.finditer(text)
    next(matches, None)
    second = next(matches, None)
    return None if second is None else text.count("\n", 0, second.start()) + 1


def check_depth(field: str, value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """A ``SettingsError`` naming ``field`` when lists and objects nest deeper than ``limit``
    (walked without recursion, so any depth is measured safely)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > limit:
                raise _too_deep(field, limit)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _too_deep(field: str, limit: int = MAX_JSON_DEPTH) -> SettingsError:
    return SettingsError(field, f"lists and objects nest more than {limit} levels deep; too deep")


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


def check_json_value(field: str, value: Any) -> None:
    """Everything inside a JSON setting can be used: nesting at most ``MAX_JSON_DEPTH`` deep,
    no integer of more than ``MAX_INT_DIGITS`` digits, no NaN or infinity (``NaN``,
    ``Infinity`` or ``1e400`` in JSON), no text that is not Unicode; errors name the key.
    Walked without recursion, so any depth is measured safely."""
    stack: list[tuple[Any, tuple]] = [(value, ())]  # each value and the keys leading to it
    while stack:
        item, keys = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                check_text(field, item, what=_where(keys) or "the text")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise SettingsError(
                    field,
                    f"{_where(keys) or 'the value'} is {item!r}; expected a finite number "
                    "(JSON's NaN and Infinity, and numbers past 1.8e308, are not)",
                )
        elif isinstance(item, dict | list | tuple):
            if len(keys) >= MAX_JSON_DEPTH:
                raise _too_deep(field)
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and not key.isascii():
                        check_text(field, key, what="a key")
                    stack.append((child, (*keys, (key,))))
            else:
                stack.extend((child, (*keys, index)) for index, child in enumerate(item))
        elif is_long_int(item):
            raise long_int_error(field, item, _where(keys))


def _where(keys: tuple) -> str:
    """``'a'[1]['b']``: the keys (in 1-tuples) and indices leading to a value; ``item 0`` at the
    top of a list."""
    names = [repr(key[0]) if isinstance(key, tuple) else key for key in keys]
    if not names:
        return ""
    head = f"item {names[0]}" if isinstance(names[0], int) else names[0]
    return head + "".join(f"[{name}]" for name in names[1:])


def check_text(field: str, text: str, *, what: str = "") -> None:
    """A ``SettingsError`` naming ``field`` (and the line, in text of several lines) when
    ``text`` holds a lone UTF-16 surrogate (``"\\ud800"`` in JSON, or a byte that is not
    UTF-8 in a command-line argument): half of a character, which no file, tokenizer or
    terminal takes. ``what`` names the text inside the field (a JSON key)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        start = exc.start
        before = (text[:start] + "x").splitlines()  # lines as the prompts are numbered
        several = not what and len(text.splitlines()) > 1
        of = f" of {what}" if what else ""
        raise SettingsError(
            field,
            f"character {len(before[-1]) if several else start + 1}{of} is "
            f"U+{ord(text[start]):04X}, a lone UTF-16 surrogate (half of a character, not "
            "text); remove it",
            line=len(before) if several else None,
        ) from None


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for an error message: short, and safe for integers of any size."""
    if is_long_int(value):
        return (
            repr(value) if isinstance(value, LongNumber) else f"a {digit_count(value)}-digit number"
        )
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_text_limited(source: str | Path | IO[bytes], limit: int, field: str) -> str:
    """The UTF-8 text of a file (or binary stream), reading at most ``limit + 1`` bytes: a file
    over ``limit`` bytes (``/dev/zero``, a video passed by mistake) is refused unread, and so
    is a named pipe, socket or folder (opened without waiting for a writer)."""
    name = "standard input" if source == "-" else str(getattr(source, "name", source))
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        elif hasattr(source, "read"):
            data = source.read(limit + 1)
        else:
            data = _read_file(Path(source).expanduser(), limit + 1, field)
    except OSError as exc:
        raise SettingsError(field, f"cannot read {name!r}: {_os_reason(exc)}") from exc
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


_NOT_FILES = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFBLK: "a block device (a whole disk)",
    stat.S_IFDIR: "a folder",
}


def file_kind(mode: int) -> str | None:
    """What a file of ``mode`` is when it is no file to read (``"a named pipe (FIFO)"``, a
    socket, a block device, a folder); ``None`` for a regular file or a character device."""
    return _NOT_FILES.get(stat.S_IFMT(mode))


def _read_file(path: Path, size: int, field: str) -> bytes:
    """At most ``size`` bytes of ``path``; opened non-blocking, so a FIFO without a writer is
    refused at once instead of waiting forever for one."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file")
        kind = file_kind(mode)
        if kind is not None:
            raise SettingsError(
                field, f"{str(path)!r} is {kind}, not a file; only files are read here"
            )
        if stat.S_ISREG(mode):
            os.set_blocking(descriptor, True)
        with open(descriptor, "rb", closefd=False) as file:
            return file.read(size) or b""
    finally:
        os.close(descriptor)


def _os_reason(exc: OSError) -> str:
    """An operating system error in words (a link loop named as one)."""
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link that loops (or a chain of too many links)"
    return exc.strerror or str(exc)


def parse_json_object(name: str, value: Any) -> dict[str, Any]:
    """A dict from a dict or from JSON text (``{"key": value}``); errors name the position.

    Anything inside that a setting cannot use (``check_json_value``: a huge integer, NaN or
    infinity, a lone surrogate, deep nesting) and a key given twice are errors naming it."""
    if isinstance(value, dict):
        check_json_value(name, value)
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
        parsed = loads_json(value, name)
    except json.JSONDecodeError as exc:
        raise SettingsError(name, f"invalid JSON: {exc.msg}", position=exc.pos) from None
    except RecursionError:
        raise SettingsError(name, "the JSON text is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise SettingsError(
            name, f'expected a JSON object like {{"key": 1}}, got {type(parsed).__name__}'
        )
    check_json_value(name, parsed)
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
