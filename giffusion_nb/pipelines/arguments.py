"""Check extra call arguments (``pipeline_kwargs``) against a callable's signature before a
render: each value must fit its parameter's annotation, or the error names the argument."""

from __future__ import annotations

import collections.abc
import inspect
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.limits import shown

_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
_MAPPINGS = (dict, collections.abc.Mapping)


def check_call_arguments(call: Callable[..., Any], values: dict[str, Any], field: str) -> None:
    """Raise a ``SettingsError`` naming ``field`` and the argument for the first value in
    ``values`` that ``call``'s annotation of that parameter does not allow.

    Annotations understood: ``bool``, ``int``, ``float``, ``str``, ``None``, ``list[...]``,
    ``tuple[...]``, ``dict[...]``, ``Optional``/``Union``/``X | Y``, ``Literal``, ``Any`` and
    classes (a JSON value is never a ``torch.Tensor``). A parameter without an annotation is
    checked against its default's kind; names ``call`` lacks are left to the caller.

    >>> def call(prompt: str, guidance_rescale: float = 0.0): ...
    >>> check_call_arguments(call, {"guidance_rescale": 0.7}, "pipeline_kwargs")
    """
    parameters = inspect.signature(call).parameters
    hints = _type_hints(call)
    for name, value in values.items():
        parameter = parameters.get(name)
        if parameter is None or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        expected = hints.get(name, parameter.annotation)
        if expected is inspect.Parameter.empty:
            expected = _kind_of_default(parameter.default)
        if not _fits(value, expected):
            raise SettingsError(field, f"{name!r} expects {describe(expected)}, got {shown(value)}")


def _type_hints(call: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations, or none when some name in them cannot be resolved."""
    try:
        return typing.get_type_hints(call)
    except Exception:  # a forward reference to a name imported only for type checkers
        return {}


def _kind_of_default(default: Any) -> Any:
    if default is inspect.Parameter.empty or default is None:
        return Any
    if isinstance(default, bool):
        return bool
    if isinstance(default, numbers.Real):
        return float
    for kind in (str, list, tuple, dict):
        if isinstance(default, kind):
            return list if kind is tuple else kind
    return Any


def _fits(value: Any, expected: Any) -> bool:
    """Whether ``value`` is allowed by the annotation ``expected``."""
    if expected is Any or isinstance(expected, (str, typing.TypeVar, typing.ForwardRef)):
        return True  # unknown: nothing to check against
    if expected is None or expected is type(None):
        return value is None
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is typing.Literal:
        return any(type(value) is type(arg) and value == arg for arg in args)
    if origin is typing.Annotated:
        return _fits(value, args[0])
    if origin is not None:
        return _fits_generic(value, origin, args)
    return _fits_class(value, expected)


def _fits_generic(value: Any, origin: Any, args: tuple) -> bool:
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(item, args[0]) for item in value)
        return not args or (len(value) == len(args) and all(map(_fits, value, args)))
    if origin in _SEQUENCES:
        return isinstance(value, (list, tuple)) and all(_fits(item, args[0]) for item in value)
    if origin in _MAPPINGS:
        if not isinstance(value, dict):
            return False
        key, item = args if len(args) == 2 else (Any, Any)
        return all(_fits(k, key) and _fits(v, item) for k, v in value.items())
    if origin is collections.abc.Callable:
        return callable(value)
    return isinstance(origin, type) and isinstance(value, origin)


def _fits_class(value: Any, expected: Any) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # JSON's true is no number
    if expected is int:
        return isinstance(value, int)
    if expected is float:
        return isinstance(value, (int, float))
    if expected is complex:
        return isinstance(value, numbers.Number)
    if expected in (list, tuple):
        return isinstance(value, (list, tuple))
    if isinstance(expected, type):
        return isinstance(value, expected)
    return True  # some other typing construct: not checked


_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
_PLURALS = {bool: "true/false values", int: "integers", float: "numbers", str: "texts"}


def describe(expected: Any) -> str:
    """An annotation in words: ``float | None`` -> ``a number or null``."""
    if expected is None or expected is type(None):
        return "null"
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(arg) for arg in args))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin is tuple and args and args[-1] is not Ellipsis and len(set(args)) == 1:
        return f"a list of {len(args)} {_plural(args[0])}"
    if origin in _SEQUENCES and args and args[-1] is not Ellipsis:
        return f"a list of {_plural(args[0])}"
    if origin in (*_SEQUENCES, list, tuple) or expected in (list, tuple):
        return "a list"
    if origin in _MAPPINGS or expected is dict:
        return 'a JSON object like {"key": 1}'
    if expected in _WORDS:
        return _WORDS[expected]
    name = getattr(expected, "__qualname__", None) or str(expected)
    module = getattr(expected, "__module__", "")
    return f"a {module.split('.')[0]}.{name}" if module not in ("", "builtins") else name


def _plural(expected: Any) -> str:
    return _PLURALS.get(expected) or f"items that are {describe(expected)}"
