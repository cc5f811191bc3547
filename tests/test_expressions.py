"""Tests for the math-expression language (giffusion_nb.keyframes.expressions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import AudioTerm, FrameFeatures
from giffusion_nb.keyframes.expressions import (
    Apply,
    Chain,
    Feature,
    Name,
    Node,
    Number,
    Reader,
    describe_failure,
    evaluate,
    features_in,
)


def _parse(text: str) -> Node:
    reader = Reader(text, field="zoom")
    node = reader.parse_expression()
    assert reader.token.kind == "end"
    return node


def _value(text: str, t: float = 0.0, max_f: float = 0.0) -> float:
    return float(evaluate(_parse(text), np.array([t]), max_f)[0])


def _error(text: str) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        _parse(text)
    assert info.value.field == "zoom"
    return info.value


# --- parsing -----------------------------------------------------------------------------------


def test_tree_shapes():
    assert _parse("-2") == Number(-2.0)
    assert _parse("+-+3") == Number(-3.0)
    assert _parse("-t") == Apply("neg", (Name("t"),))
    assert _parse("1 - 2 + t") == Chain(Number(1.0), (("-", Number(2.0)), ("+", Name("t"))))
    assert _parse("2 ** t ** 3") == Apply(
        "**", (Number(2.0), Apply("**", (Name("t"), Number(3.0))))
    )
    assert _parse("max(t, 1)") == Apply("max", (Name("t"), Number(1.0)))


def test_parsing_stops_before_a_token_that_cannot_continue_the_expression():
    reader = Reader("1 + t, 3: (4)", field="zoom")
    assert reader.parse_expression() == Chain(Number(1.0), (("+", Name("t")),))
    assert (reader.token.text, reader.token.position) == (",", 5)


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("-2**2", -4.0),
        ("2**3**2", 512.0),
        ("2**-1", 0.5),
        ("7 % 3", 1.0),
        ("-7 % 3", 2.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("8 / 4 / 2", 1.0),
        ("+-+3", -3.0),
        ("1e-3 * 1E3", 1.0),
        (".5 + 1.", 1.5),
        ("pi", math.pi),
        ("e", math.e),
        ("min(3, 1, 2) + max(4, 5)", 6.0),
        ("floor(2.7) + ceil(2.2) + abs(-1)", 6.0),
        ("sqrt(16) + exp(0) + log(e) + cos(0) + tan(0)", 7.0),
    ],
)
def test_expression_grammar(expression, expected):
    assert _value(expression) == pytest.approx(expected, rel=1e-15)


def test_t_and_max_f_take_the_given_values():
    assert _value("t", t=3.0) == 3.0
    assert _value("max_f", max_f=7.0) == 7.0
    assert list(evaluate(_parse("t / max_f"), np.arange(5.0), 4.0)) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_expression_matches_math_at_every_frame():
    values = evaluate(_parse("1.0025+0.002*sin(1.25*3.14*t/30)"), np.arange(40.0), 39.0)
    expected = [1.0025 + 0.002 * math.sin(1.25 * 3.14 * t / 30) for t in range(40)]
    assert values == pytest.approx(expected, rel=1e-12, abs=0)


def test_evaluate_gives_float64_of_the_frames_shape_even_for_constants():
    values = evaluate(_parse("2"), np.arange(3.0), 2.0)
    assert values.dtype == np.float64
    assert list(values) == [2.0, 2.0, 2.0]


def test_evaluate_lets_failures_show_as_nan_or_inf():
    values = evaluate(_parse("log(t - 1)"), np.arange(3.0), 2.0)
    assert np.isnan(values[0])
    assert values[1] == -np.inf
    assert values[2] == 0.0


# --- describe_failure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "t", "problem"),
    [
        ("1 / (t - 12)", 12.0, "a division by zero"),
        ("t % (t - 3)", 3.0, "a division by zero"),
        ("0 ** -1", 0.0, "a division by zero"),
        ("log(t - 2)", 0.0, "a math domain error (such as log or sqrt of a negative number)"),
        ("(-8) ** (1 / 3)", 0.0, "a math domain error (such as log or sqrt of a negative number)"),
        ("10 ** (t * 200)", 2.0, "a number too large to represent"),
        ("1e308 * 10", 0.0, "a number too large to represent"),
        ("1e308 * 10 - 1e308 * 10", 0.0, "a result that is not a number"),
    ],
)
def test_describe_failure(expression, t, problem):
    node = _parse(expression)
    assert not np.isfinite(evaluate(node, np.array([t]), 0.0)[0])
    assert describe_failure(node, t, 0.0) == problem


# --- errors ------------------------------------------------------------------------------------


def test_unknown_name():
    err = _error("foo + 1")
    assert err.position == 0
    assert str(err).startswith("`zoom`, position 0: unknown name 'foo' (allowed: t, max_f, pi, e")
    assert "sin" in str(err)


def test_long_tokens_are_shortened_in_messages():
    assert "unknown name 'aaaaaaaaaaaaaaaaaaaa...'" in str(_error("a" * 30))


def test_bad_number():
    err = _error("1.2.3")
    assert err.position == 0
    assert "expected a number, found '1.2.3'" in str(err)


def test_implicit_multiplication_is_a_bad_number():
    err = _error("1 + 2pi")
    assert err.position == 4
    assert "'2pi'" in str(err)


def test_number_too_large():
    err = _error("1 + 1e999")
    assert err.position == 4
    assert str(err) == "`zoom`, position 4: the number '1e999' is too large"


def test_empty_parentheses():
    err = _error("2 * ()")
    assert err.position == 5
    assert "expected a number or expression, found ')'" in str(err)


def test_missing_operand_at_the_end():
    assert "expected a number or expression, found the end of the text" in str(_error("1 +"))


def test_unclosed_parenthesis():
    err = _error("2 * (1 + 2")
    assert err.position == 10
    assert str(err) == (
        "`zoom`, position 10: expected an operator or ')' to close the '(' at position 4, "
        "found the end of the text"
    )


def test_unexpected_character():
    err = _error("1 & 2")
    assert err.position == 2
    assert "expected a number, name, operator or parenthesis, found '&'" in str(err)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("sin(1, 2)", "function 'sin' takes 1 argument, found 2"),
        ("sqrt()", "function 'sqrt' takes 1 argument, found 0"),
        ("min(1)", "function 'min' takes 2 or more arguments, found 1"),
        ("max()", "function 'max' takes 2 or more arguments, found 0"),
    ],
)
def test_wrong_function_arity(expression, message):
    err = _error(f"1 + {expression}")
    assert err.position == 4
    assert message in str(err)


def test_function_without_call():
    err = _error("sin + 1")
    assert "expected '(' after the function name 'sin', found '+'" in str(err)


def test_missing_comma_between_arguments():
    err = _error("max(1 2)")
    assert err.position == 6
    assert "expected ',' or ')' in the call to 'max', found '2'" in str(err)


def test_too_deep_nesting():
    assert _value("(" * 49 + "1" + ")" * 49) == 1.0
    err = _error("(" * 60 + "1" + ")" * 60)
    assert err.position == 50
    assert "nested too deeply (more than 50 levels)" in str(err)
    assert "nested too deeply" in str(_error("-" * 5000 + "1"))
    assert "nested too deeply" in str(_error("2**" * 3000 + "1"))


def test_long_flat_expression_is_fine():
    assert _value("+".join(["1"] * 2000)) == 2000.0


# --- properties --------------------------------------------------------------------------------

_PARTS = st.sampled_from(
    [
        *("t", "max_f", "pi", "e", "1", "0", "2.5", "1e3", " "),
        *("+", "-", "*", "/", "%", "**", "(", ")", ","),
        *("sin(", "log(", "sqrt(", "min(", "max(", "exp(", "floor("),
        *("onset", "amp(", "band(", "beat", "0.1"),
    ]
)


@settings(deadline=500, max_examples=300)
@given(st.one_of(st.text(), st.lists(_PARTS, max_size=16).map("".join)))
def test_any_text_parses_to_a_tree_or_a_settings_error(text):
    try:
        node = Reader(text, field="zoom").parse_expression()
    except SettingsError as err:
        assert err.field == "zoom"
        assert err.position is not None
        return
    values = evaluate(node, np.arange(5.0), 4.0, _ramp_features())
    assert values.dtype == np.float64
    assert values.shape == (5,)


# --- audio features ----------------------------------------------------------------------------


def _ramp_features() -> FrameFeatures:
    """Features whose every term at frame k is k / 100 (band: plus its low edge / 10^4)."""
    return FrameFeatures(lambda term: np.arange(200) / 100 + term.low / 1e4, Fraction(10))


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("onset", AudioTerm("onset")),
        ("amp(0.01, 0.3)", AudioTerm("amp", attack=0.01, release=0.3)),
        ("beat", AudioTerm("beat")),
        ("perc()", AudioTerm("perc")),
        ("harm(0, 2)", AudioTerm("harm", release=2.0)),
        ("band(40, 120)", AudioTerm("band", 40.0, 120.0)),
        ("band(2000, 4000, 0, 0.25)", AudioTerm("band", 2000.0, 4000.0, 0.0, 0.25)),
    ],
)
def test_audio_features_parse_into_terms(text, term):
    node = _parse(f"1 + 0.1*{text}")
    assert [feature.term for feature in features_in(node)] == [term]


def test_features_are_read_at_the_frames_evaluated():
    node = _parse("1 + 2*onset - band(100, 200)")
    values = evaluate(node, np.array([0.0, 10.0, 50.0]), 99.0, _ramp_features())
    assert values.tolist() == pytest.approx([0.99, 1.09, 1.49])  # 1 + 2k - (k + 0.01)
    assert describe_failure(_parse("1 / (onset - 0.1)"), 10.0, 99.0, _ramp_features()) == (
        "a division by zero"
    )


def test_a_feature_keeps_where_it_was_written_but_compares_by_term():
    first, second = features_in(_parse("onset + onset"))
    assert (first.position, second.position) == (0, 8)
    assert first == second == Feature(AudioTerm("onset"))


@pytest.mark.parametrize(
    ("text", "words", "position"),
    [
        ("band", "expected '(' after 'band'", 4),
        ("band(100)", "'band' takes band(low_hz, high_hz)", 0),
        ("band(300, 200)", "0 <= low_hz < high_hz <= 11025", 5),
        ("band(0, 20000)", "0 <= low_hz < high_hz <= 11025", 5),
        ("onset(0.1)", "'onset' takes onset or onset(attack_s, release_s), found 1", 0),
        ("onset(0, 11)", "attack and release are seconds from 0 to 10, found 11", 9),
        ("amp(-1, 0)", "attack and release are seconds from 0 to 10, found -1", 4),
        ("amp(t, 1)", "expected a plain number", 4),
        ("beat(1 2)", "expected ',' or ')'", 7),
    ],
)
def test_bad_feature_arguments_name_the_field_line_and_column(text, words, position):
    err = _error(text)
    assert words in err.message
    assert err.position == position
    assert f"(line 1, column {position + 1})" in err.message


def test_feature_errors_count_lines_and_columns_in_multi_line_text():
    err = _error("1 +\n  2 * band(10)")
    assert err.position == 10 and "(line 2, column 7)" in err.message
