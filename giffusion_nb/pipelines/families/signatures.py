"""What a diffusers pipeline class accepts, read from its code: the parameters of ``__call__``
and ``encode_prompt`` with their defaults, and the names ``encode_prompt`` returns (the last
``return`` of its source, read with ``ast``: diffusers names the returned tensors as
``__call__`` takes them, ``return prompt_embeds, prompt_attention_mask, ...``)."""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Accepts:
    """One pipeline class's signatures."""

    call: dict[str, Any]  # __call__'s named parameters -> default (``_EMPTY``: none)
    encode: dict[str, Any] | None  # encode_prompt's, or None without one
    returns: tuple[str, ...] | None  # the names encode_prompt returns, in order (None: unread)

    def call_takes(self, *names: str) -> bool:
        """True when ``__call__`` takes every one of ``names``."""
        return all(name in self.call for name in names)

    def call_default(self, name: str) -> Any:
        """``__call__``'s default of ``name`` (``None`` without one)."""
        default = self.call.get(name, _EMPTY)
        return None if default is _EMPTY else default

    def required_encode_parameters(self) -> list[str]:
        """``encode_prompt``'s parameters without a default."""
        return [name for name, default in (self.encode or {}).items() if default is _EMPTY]


@functools.cache
def accepts(pipeline_class: type) -> Accepts:
    """The signatures of ``pipeline_class`` (read once per class)."""
    encode = getattr(pipeline_class, "encode_prompt", None)
    return Accepts(
        call=_parameters(pipeline_class.__call__),
        encode=None if encode is None else _parameters(encode),
        returns=None if encode is None else returned_names(encode),
    )


def _parameters(function: Any) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters
    catch_all = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {
        name: parameter.default
        for name, parameter in parameters.items()
        if name != "self" and parameter.kind not in catch_all
    }


def returned_names(function: Any) -> tuple[str, ...] | None:
    """The variable names ``function``'s last ``return`` statement returns (a name or a tuple
    of names), or ``None`` when it returns anything else or its source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return)]
    last = max(returns, key=lambda node: node.lineno, default=None)
    if last is None or last.value is None:
        return None
    value = last.value
    elements = value.elts if isinstance(value, ast.Tuple) else [value]
    if not all(isinstance(element, ast.Name) for element in elements):
        return None
    return tuple(element.id for element in elements)
