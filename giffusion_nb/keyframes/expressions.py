"""A safe math-expression language over frame numbers and audio features: tokenizer, parser
and numpy evaluator."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import (
    FEATURES,
    AudioTerm,
    FrameFeatures,
    TermError,
    feature_usage,
    make_term,
)

MAX_DEPTH = 50

_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_TAIL = re.compile(r"[A-Za-z0-9_.]*")
_OPERATORS = ("**", "+", "-", "*", "/", "%", "(", ")", ",", ":")
_VARIABLES = ("t", "max_f", "pi", "e")
_ONE_ARGUMENT_FUNCTIONS = ("sin", "cos", "tan", "abs", "sqrt", "exp", "log", "floor", "ceil")
_MANY_ARGUMENT_FUNCTIONS = ("min", "max")  # two or more
_ALLOWED_NAMES = ", ".join(
    _VARIABLES + _ONE_ARGUMENT_FUNCTIONS + _MANY_ARGUMENT_FUNCTIONS + tuple(FEATURES)
)


# --- expression tree ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    """A literal number."""

    value: float


@dataclass(frozen=True)
class Name:
    """A variable: t, max_f, pi or e."""

    name: str


@dataclass(frozen=True)
class Apply:
    """An operation on operands: a function call, ``neg`` (unary minus) or ``**``."""

    operation: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Chain:
    """A left-associative run like ``a + b - c``, kept flat so long sums need no deep recursion."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Feature:
    """An audio feature at the frame's time (``onset``, ``band(40, 120, 0, 0.2)``); where it
    starts in the text is kept for errors but not compared."""

    term: AudioTerm
    position: int = field(default=0, compare=False)


Node = Number | Name | Apply | Chain | Feature


# --- tokenizer ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One token of the text: its kind ("number", "name", "op" or "end"), text and position."""

    kind: str
    text: str
    position: int

    def describe(self) -> str:
        """How the token is quoted in error messages."""
        if self.kind == "end":
            return "the end of the text"
        return repr(self.text if len(self.text) <= 20 else self.text[:20] + "...")


def _tokenize(text: str, field: str) -> list[Token]:
    tokens = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        token = _read_token(text, position, field)
        tokens.append(token)
        position += len(token.text)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _read_token(text: str, position: int, field: str) -> Token:
    number = _NUMBER.match(text, position)
    if number:
        tail = _WORD_TAIL.match(text, number.end()).group()
        if tail:
            bad = number.group() + tail
            raise SettingsError(field, f"expected a number, found {bad!r}", position=position)
        return Token("number", number.group(), position)
    name = _NAME.match(text, position)
    if name:
        return Token("name", name.group(), position)
    for op in _OPERATORS:
        if text.startswith(op, position):
            return Token("op", op, position)
    raise SettingsError(
        field,
        f"expected a number, name, operator or parenthesis, found {text[position]!r}",
        position=position,
    )


# --- parser ------------------------------------------------------------------------------------
class Reader:
    """A cursor over a text's tokens that parses the expressions in it; SettingsError on mistakes.

    The whole text is tokenized up front (operators include ``:`` and ``,``), so a caller can
    read its own syntax around the expressions with ``token``, ``advance``, ``accept`` and
    ``expect``.
    """

    def __init__(self, text: str, *, field: str) -> None:
        self.tokens = _tokenize(text, field)
        self.text = text
        self.field = field
        self._index = 0
        self._depth = 0

    @property
    def token(self) -> Token:
        """The current token."""
        return self.tokens[self._index]

    def advance(self) -> Token:
        """Move past the current token and return it."""
        token = self.token
        self._index += 1
        return token

    def error(self, message: str, token: Token | None = None) -> SettingsError:
        """A SettingsError at ``token`` (default: the current one)."""
        return SettingsError(self.field, message, position=(token or self.token).position)

    def located_error(self, message: str, token: Token) -> SettingsError:
        """A SettingsError at ``token`` whose message also says its line and column."""
        before = self.text[: token.position]
        line, column = before.count("\n") + 1, token.position - before.rfind("\n")
        return self.error(f"{message} (line {line}, column {column})", token)

    def accept(self, op: str) -> bool:
        """Move past the operator ``op`` if it is next; say whether it was."""
        if self.token.kind == "op" and self.token.text == op:
            self.advance()
            return True
        return False

    def expect(self, op: str, what: str) -> None:
        """Move past the operator ``op``, or raise "expected {what}, found ..."."""
        if not self.accept(op):
            raise self.error(f"expected {what}, found {self.token.describe()}")

    # expressions, loosest binding first

    def parse_expression(self) -> Node:
        """Parse an expression from the current token up to the first one that cannot extend it."""
        return self._parse_chain(("+", "-"), self._parse_term)

    def _parse_term(self) -> Node:
        return self._parse_chain(("*", "/", "%"), self._parse_unary)

    def _parse_chain(self, ops: tuple[str, ...], parse_operand: Callable[[], Node]) -> Node:
        first = parse_operand()
        rest = []
        while self.token.kind == "op" and self.token.text in ops:
            op = self.advance().text
            rest.append((op, parse_operand()))
        return Chain(first, tuple(rest)) if rest else first

    def _parse_unary(self) -> Node:
        # Every nesting (parentheses, call arguments, signs, exponents) passes through here.
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self.error(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if self.accept("-"):
            operand = self._parse_unary()
            node = (
                Number(-operand.value) if isinstance(operand, Number) else Apply("neg", (operand,))
            )
        elif self.accept("+"):
            node = self._parse_unary()
        else:
            node = self._parse_power()
        self._depth -= 1
        return node

    def _parse_power(self) -> Node:
        base = self._parse_primary()
        if self.accept("**"):
            return Apply("**", (base, self._parse_unary()))  # right-associative; allows 2**-1
        return base

    def _parse_primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            value = float(token.text)
            if not math.isfinite(value):
                raise self.error(f"the number {token.describe()} is too large", token)
            return Number(value)
        if token.kind == "name":
            self.advance()
            return self._parse_name(token)
        if self.accept("("):
            node = self.parse_expression()
            self.expect(")", f"an operator or ')' to close the '(' at position {token.position}")
            return node
        raise self.error(f"expected a number or expression, found {token.describe()}")

    def _parse_name(self, token: Token) -> Node:
        if token.text in _VARIABLES:
            return Name(token.text)
        if token.text in FEATURES:
            return self._parse_feature(token)
        if token.text not in _ONE_ARGUMENT_FUNCTIONS + _MANY_ARGUMENT_FUNCTIONS:
            raise self.error(f"unknown name {token.describe()} (allowed: {_ALLOWED_NAMES})", token)
        self.expect("(", f"'(' after the function name {token.text!r}")
        args = [] if self.accept(")") else self._parse_arguments(token)
        self._check_arity(token, len(args))
        return Apply(token.text, tuple(args))

    def _parse_arguments(self, function: Token) -> list[Node]:
        args = [self.parse_expression()]
        while not self.accept(")"):
            self.expect(",", f"',' or ')' in the call to {function.text!r}")
            args.append(self.parse_expression())
        return args

    def _parse_feature(self, token: Token) -> Feature:
        """``onset``, ``onset(attack, release)``, ``band(low, high)``, ``band(low, high,
        attack, release)``: the arguments are plain numbers (seconds, Hz)."""
        usage = feature_usage(token.text)
        opens = self.token.kind == "op" and self.token.text == "("
        if token.text != "band" and not opens:
            return Feature(AudioTerm(token.text), token.position)
        if not opens:
            raise self.located_error(f"expected '(' after 'band': {usage}", self.token)
        self.advance()
        args: list[float] = []
        starts: list[Token] = []
        closed = self.accept(")")  # `perc()` is `perc`
        while not closed:
            starts.append(self.token)
            value = self.parse_expression()
            if not isinstance(value, Number):
                raise self.located_error(f"expected a plain number in {usage}", starts[-1])
            args.append(value.value)
            closed = self.accept(")")
            if not closed and not self.accept(","):
                raise self.located_error(f"expected ',' or ')' in {usage}", self.token)
        try:
            term = make_term(token.text, args)
        except TermError as exc:
            at = token if exc.index is None else starts[exc.index]
            raise self.located_error(exc.message, at) from None
        return Feature(term, token.position)

    def _check_arity(self, function: Token, count: int) -> None:
        many = function.text in _MANY_ARGUMENT_FUNCTIONS
        if count < 2 if many else count != 1:
            takes = "2 or more arguments" if many else "1 argument"
            raise self.error(f"function {function.text!r} takes {takes}, found {count}", function)


# --- evaluation --------------------------------------------------------------------------------
def _scalar_power(base: float, exponent: float) -> float:
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("zero to a negative power")
    return math.pow(base, exponent)


# name: (numpy version for arrays of frames, plain-float version that raises instead of giving nan)
_OPERATIONS = {
    "+": (np.add, operator.add),
    "-": (np.subtract, operator.sub),
    "*": (np.multiply, operator.mul),
    "/": (np.divide, operator.truediv),
    "%": (np.remainder, operator.mod),
    "**": (np.power, _scalar_power),
    "neg": (np.negative, operator.neg),
    "sin": (np.sin, math.sin),
    "cos": (np.cos, math.cos),
    "tan": (np.tan, math.tan),
    "abs": (np.abs, abs),
    "sqrt": (np.sqrt, math.sqrt),
    "exp": (np.exp, math.exp),
    "log": (np.log, math.log),
    "floor": (np.floor, lambda x: float(math.floor(x))),
    "ceil": (np.ceil, lambda x: float(math.ceil(x))),
    "min": (lambda *args: reduce(np.minimum, args), min),
    "max": (lambda *args: reduce(np.maximum, args), max),
}
_ARRAY, _SCALAR = 0, 1


def _evaluate(node: Node, names: dict, version: int):
    """Evaluate a tree with the given variable values, using the array or the scalar operations."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Feature):
        return names["feature"](node.term)
    if isinstance(node, Name):
        return names[node.name]
    if isinstance(node, Chain):
        result = _evaluate(node.first, names, version)
        for op, operand in node.rest:
            result = _OPERATIONS[op][version](result, _evaluate(operand, names, version))
        return result
    operands = [_evaluate(operand, names, version) for operand in node.operands]
    return _OPERATIONS[node.operation][version](*operands)


def _names(t: np.ndarray | float, max_f: float, features: FrameFeatures | None) -> dict:
    def feature(term: AudioTerm) -> np.ndarray | float:
        if features is None:
            raise ValueError(f"the audio feature {term.name!r} needs audio features")
        values = features.values(term, np.atleast_1d(t))
        return values if isinstance(t, np.ndarray) else float(values[0])

    return {"t": t, "max_f": max_f, "pi": math.pi, "e": math.e, "feature": feature}


def evaluate(
    node: Node, t: np.ndarray, max_f: float, features: FrameFeatures | None = None
) -> np.ndarray:
    """The node's value at each frame number in ``t``, as float64; failures show up as nan/inf.
    Audio features are read from ``features`` at those frames (``features_in`` says which a
    node uses: without features it must use none)."""
    with np.errstate(all="ignore"):
        result = _evaluate(node, _names(t, max_f, features), _ARRAY)
        return np.broadcast_to(np.asarray(result, dtype=np.float64), t.shape).copy()


def features_in(node: Node) -> list[Feature]:
    """The audio features ``node`` reads, in the order they are written."""
    if isinstance(node, Feature):
        return [node]
    if isinstance(node, Chain):
        found = features_in(node.first)
        for _, operand in node.rest:
            found += features_in(operand)
        return found
    if isinstance(node, Apply):
        return [feature for operand in node.operands for feature in features_in(operand)]
    return []


def describe_failure(
    node: Node, t: float, max_f: float, features: FrameFeatures | None = None
) -> str:
    """What goes wrong when evaluating the node at frame number ``t``, in words."""
    try:
        value = _evaluate(node, _names(t, max_f, features), _SCALAR)
    except ZeroDivisionError:
        return "a division by zero"
    except OverflowError:
        return "a number too large to represent"
    except ValueError:
        return "a math domain error (such as log or sqrt of a negative number)"
    if math.isinf(value):
        return "a number too large to represent"
    return "a result that is not a number"
