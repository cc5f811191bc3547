"""Read-only copies of JSON-like values (a render's settings) and plain copies back."""

from __future__ import annotations

from typing import Any


class FrozenDict(dict):
    """A dict that refuses changes (and still pickles, for Ray workers)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("frozen settings cannot be changed")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple:
        return (FrozenDict, (dict(self),))


def freeze(value: Any) -> Any:
    """A value made read-only all the way down: lists become tuples, dicts FrozenDicts."""
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    return value


def thaw(value: Any) -> Any:
    """A frozen value as plain, mutable JSON-like data (tuples become lists, dicts plain)."""
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    return value
