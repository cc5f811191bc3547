"""Prompt weights as A1111 and ComfyUI write them: ``(word:1.3)``, ``(word)`` ×1.1, ``[word]``
÷1.1, nesting multiplies, ``\\(`` a literal bracket."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from giffusion_nb.errors import SettingsError

UP = 1.1  # ``(word)``; ``[word]`` divides by it
MAX_WEIGHT = 10.0
SYNTAX = "()[]\\"  # the characters that are syntax; a backslash escapes each of them
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_WEIGHT_CLOSE = re.compile(rf":\s*({_NUMBER})\s*\)")  # ``:1.3)`` ends a weighted group
_EDIT_CLOSE = re.compile(rf":\s*{_NUMBER}\s*\]")  # ``[cat:dog:10]``: A1111's prompt editing
# ``(word:nan)``, ``(word:inf)``, ``(word:1e3)``: meant as a weight, but no decimal one
_ODD_WEIGHT_CLOSE = re.compile(
    rf":\s*([+-]?(?:nan|inf(?:inity)?|{_NUMBER}e[+-]?\d+))\s*\)", re.IGNORECASE
)


@dataclass(frozen=True)
class Fragment:
    """A run of a prompt's text with one weight."""

    text: str
    weight: float


@dataclass(frozen=True)
class WeightedPrompt:
    """A prompt as fragments of text, each with its weight (neighbours of one weight joined).

    >>> [(part.text, part.weight) for part in parse_weights("a (red:1.5) [fox]").fragments]
    [('a ', 1.0), ('red', 1.5), (' ', 1.0), ('fox', 0.909091)]
    """

    fragments: tuple[Fragment, ...]

    @property
    def text(self) -> str:
        """The prompt without its weighting syntax."""
        return "".join(fragment.text for fragment in self.fragments)

    @property
    def weighted(self) -> bool:
        """True when some text has a weight other than 1."""
        return any(fragment.weight != 1.0 for fragment in self.fragments)


def parse_weights(
    text: str, *, field: str = "prompts", line: int | None = None, what: str = "the prompt"
) -> WeightedPrompt:
    """Read the weighting syntax of one prompt; a bracket left open or closed twice, a weight
    outside 0..10 and A1111's ``[from:to:when]`` are errors naming the character of ``what``."""
    try:
        return _parse(text)
    except _SyntaxProblem as problem:
        message = f"character {problem.position} of {what}: {problem.message}"
        raise SettingsError(field, message, line=line) from None


def prompt_input(text: str) -> str | WeightedPrompt:
    """What a pipeline encodes for ``text``: its plain text (escapes resolved) when no word is
    weighted, else the weighted prompt."""
    if not any(character in text for character in SYNTAX):
        return text
    prompt = _parse(text)
    return prompt if prompt.weighted else prompt.text


def escape_weights(text: str) -> str:
    """``text`` with every weighting character escaped, so it reads as written.

    >>> escape_weights("a (red) fox")
    'a \\(red\\) fox'
    """
    return "".join(f"\\{character}" if character in SYNTAX else character for character in text)


def is_weighted(text: str) -> bool:
    """True when ``text`` gives some word a weight other than 1."""
    return isinstance(prompt_input(text), WeightedPrompt)


def plain_text(text: str) -> str:
    """``text`` without its weighting syntax."""
    prompt = prompt_input(text)
    return prompt.text if isinstance(prompt, WeightedPrompt) else prompt


class _SyntaxProblem(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message, self.position = message, position


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> WeightedPrompt:
    characters: list[str] = []
    origins: list[int] = []  # each kept character's position in ``text``
    weights = np.ones(len(text))  # each kept character's weight, multiplied as groups close
    groups: list[tuple[str, int, int]] = []  # (bracket, its position, first character inside)
    position = 0
    while position < len(text):
        character = text[position]
        if character == "\\" and position + 1 < len(text) and text[position + 1] in SYNTAX:
            characters.append(text[position + 1])
            origins.append(position + 1)
            position += 2
            continue
        if character in "([":
            groups.append((character, position, len(characters)))
        elif character == ":" and groups and groups[-1][0] == "(":
            match = _WEIGHT_CLOSE.match(text, position)
            odd = None if match else _ODD_WEIGHT_CLOSE.match(text, position)
            if odd is not None:
                raise _SyntaxProblem(
                    f"weight {odd.group(1)!r} is not a decimal number from 0 to "
                    f"{MAX_WEIGHT:g} (write it like 1.3)",
                    position,
                )
            if match is None:
                characters.append(character)
                origins.append(position)
            else:
                weight = _weight(match.group(1), position)
                _, _, start = groups.pop()
                weights[start : len(characters)] *= weight
                position = match.end()
                continue
        elif character == ":" and groups and _EDIT_CLOSE.match(text, position):
            raise _SyntaxProblem(
                "`[from:to:when]` is A1111's prompt editing, which giffusion_nb does not do "
                "(travel between key frames instead); weight words with (word:0.8)",
                groups[-1][1],
            )
        elif character in ")]":
            opening = "(" if character == ")" else "["
            if not groups or groups[-1][0] != opening:
                raise _SyntaxProblem(
                    f"{character!r} closes no {opening!r}; write \\{character} for a literal "
                    "bracket",
                    position,
                )
            _, _, start = groups.pop()
            weights[start : len(characters)] *= UP if character == ")" else 1 / UP
        else:
            characters.append(character)
            origins.append(position)
        position += 1
    if groups:
        bracket, opened, _ = groups[-1]
        closing = ")" if bracket == "(" else "]"
        raise _SyntaxProblem(
            f"{bracket!r} is never closed; close it with {closing!r} or write \\{bracket} for a "
            "literal bracket",
            opened,
        )
    return WeightedPrompt(_fragments(characters, origins, weights[: len(characters)]))


def _weight(number: str, position: int) -> float:
    weight = float(number)  # thousands of digits: infinity, outside the range
    if not 0.0 <= weight <= MAX_WEIGHT:
        shown = number if len(number) <= 20 else f"{number[:12]}… ({len(number)} characters)"
        raise _SyntaxProblem(f"weight {shown} is outside 0 to {MAX_WEIGHT:g}", position)
    return weight


def _fragments(
    characters: list[str], origins: list[int], weights: np.ndarray
) -> tuple[Fragment, ...]:
    """Runs of characters of one weight (a weight past 10 from nesting is an error)."""
    if weights.size and weights.max() > MAX_WEIGHT:
        first = int(np.argmax(weights > MAX_WEIGHT))
        raise _SyntaxProblem(
            f"nested brackets weight {''.join(characters[first : first + 20])!r} by "
            f"{weights.max():.3g}, more than {MAX_WEIGHT:g}",
            origins[first],
        )
    weights = np.round(weights, 6)  # (word) then [word]: 1, not 0.9999999999999999
    fragments: list[Fragment] = []
    start = 0
    for end in range(1, len(characters) + 1):
        if end == len(characters) or weights[end] != weights[start]:
            fragments.append(Fragment("".join(characters[start:end]), float(weights[start])))
            start = end
    return tuple(fragments)
