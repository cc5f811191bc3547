"""Tests for key-frame value strings (giffusion_nb.keyframes.curves)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.curves import check_range, curve_values, parse_curve


def _error(text: str, num_frames: int = 5, field: str = "zoom") -> SettingsError:
    with pytest.raises(SettingsError) as info:
        curve_values(text, num_frames, field=field)
    assert info.value.field == field
    return info.value


# --- values ------------------------------------------------------------------------------------


def test_numbers_interpolate_linearly_and_hold_after_the_last_key_frame():
    values = curve_values("0: (1.0), 10: (2.0)", 21)
    assert values.dtype == np.float64
    assert values.shape == (21,)
    assert values[0] == 1.0
    assert values[5] == 1.5
    assert values[10] == 2.0
    assert values[15] == 2.0
    assert values[20] == 2.0


def test_frames_before_the_first_key_frame_hold_its_value():
    values = curve_values("5: (3.0), 10: (4.0)", 12)
    assert list(values[:6]) == [3.0] * 6
    assert values[7] == pytest.approx(3.4)


def test_frames_before_the_first_key_frame_hold_an_expression_at_its_own_frame():
    values = curve_values("3: (t*2)", 6)
    assert list(values) == [6.0, 6.0, 6.0, 6.0, 8.0, 10.0]


def test_reference_example_mixing_numbers_and_expressions():
    values = curve_values("0: (0), 4: (t*10), 8: (5)", 11)
    assert list(values) == [0, 10, 20, 30, 40, 50, 60, 70, 5, 5, 5]


def test_max_f_is_the_last_frame_index():
    assert list(curve_values("0: (max_f)", 3)) == [2.0, 2.0, 2.0]
    assert list(curve_values("0: (t / max_f)", 5)) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_an_expression_runs_until_the_next_key_frame():
    values = curve_values("0: (t), 3: (100), 5: (t)", 7)
    assert list(values) == [0, 1, 2, 100, 52.5, 5, 6]  # 100 -> 5 (t at frame 5) in between


def test_number_interpolates_to_the_next_expression_evaluated_at_its_key_frame():
    values = curve_values("0: (0), 10: (t)", 12)
    assert list(values[:11]) == pytest.approx(list(range(11)))
    assert values[11] == 11.0


def test_key_frames_beyond_the_last_frame_still_shape_the_interpolation():
    assert list(curve_values("0: (0), 10: (10)", 4)) == [0.0, 1.0, 2.0, 3.0]
    assert list(curve_values("20: (7)", 3)) == [7.0, 7.0, 7.0]


def test_bare_number_is_a_constant():
    assert list(curve_values("1.5", 3)) == [1.5, 1.5, 1.5]
    assert list(curve_values("  -2 ", 2)) == [-2.0, -2.0]
    assert parse_curve("1.5").is_constant()


def test_unsorted_pairs_are_sorted():
    curve = parse_curve("10: (2.0), 0: (1.0)")
    assert [frame for frame, _ in curve.keyframes] == [0, 10]
    assert curve.values(11)[5] == 1.5


def test_whitespace_and_trailing_comma_are_allowed():
    compact = curve_values("0:(1),10:(2)", 12)
    spaced = curve_values("\n  0 :\t( 1 ) ,\n 10: ( 2 ) ,  \n", 12)
    assert list(compact) == list(spaced)


def test_is_constant():
    assert parse_curve("0: (1.0)").is_constant()
    assert parse_curve("0: (1.0), 10: (1.0)").is_constant()
    assert not parse_curve("0: (1.0), 10: (2.0)").is_constant()
    assert not parse_curve("0: (t)").is_constant()
    assert not parse_curve("0: (pi)").is_constant()


def test_zero_frames_gives_an_empty_array():
    assert curve_values("0: (1)", 0).shape == (0,)


# --- errors ------------------------------------------------------------------------------------


def test_missing_colon():
    err = _error("0 (1.0)")
    assert err.position == 2
    assert str(err) == "`zoom`, position 2: expected ':' after key frame 0, found '('"


def test_missing_parentheses():
    err = _error("0: (1), 10: x")
    assert err.position == 12
    assert str(err) == "`zoom`, position 12: expected '(' after ':', found 'x'"


def test_expression_errors_count_positions_from_the_start_of_the_text():
    err = _error("0: (1), 5: (foo + 1)")
    assert err.position == 12
    assert str(err).startswith("`zoom`, position 12: unknown name 'foo' (allowed: t, max_f, pi, e")
    assert "sin" in str(err)


def test_duplicate_key_frame():
    err = _error("0: (1), 10: (2), 10: (3)", field="angle")
    assert str(err) == "`angle`: key frame 10 appears twice"


def test_negative_key_frame():
    err = _error("-5: (1)")
    assert str(err) == (
        "`zoom`, position 0: expected a key frame number (a non-negative integer), found '-'"
    )


def test_fractional_key_frame():
    err = _error("1.5: (1)")
    assert err.position == 0
    assert "non-negative integer), found '1.5'" in str(err)


def test_key_frame_too_large():
    err = _error("0: (1), 99999999999: (2)")
    assert err.position == 8
    assert "too large" in str(err)


def test_unclosed_parenthesis():
    err = _error("0: ((1 + 2)")
    assert err.position == 11
    assert "expected an operator or ')' to close the '(' at position 3" in str(err)
    assert "found the end of the text" in str(err)


def test_extra_closing_parenthesis():
    err = _error("0: (1))")
    assert err.position == 6
    assert "found ')' with no matching '('" in str(err)


def test_missing_comma_between_pairs():
    err = _error("0: (1) 5: (2)")
    assert err.position == 7
    assert "expected ',' between key frames, found '5'" in str(err)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(text):
    err = _error(text)
    assert err.position is None
    assert "found an empty text" in str(err)


def test_division_by_zero_names_key_frame_and_frame():
    err = _error("0: (1), 10: (1 / (t - 12))", num_frames=20)
    assert str(err) == "`zoom`: the expression at key frame 10 gives a division by zero at frame 12"


def test_error_at_a_key_frame_used_only_as_interpolation_target():
    err = _error("0: (0), 10: (1 / (t - 10))", num_frames=5)
    assert "key frame 10 gives a division by zero at frame 10" in str(err)


def test_too_deep_nesting():
    assert curve_values("0: (" + "(" * 40 + "1" + ")" * 40 + ")", 1)[0] == 1.0
    err = _error("0: (" + "(" * 60 + "1" + ")" * 60 + ")")
    assert err.position == 54
    assert "nested too deeply (more than 50 levels)" in str(err)


def test_signs_on_a_bare_number_are_depth_limited_too():
    assert list(curve_values("-" * 49 + "1", 1)) == [-1.0]
    assert "nested too deeply" in str(_error("-" * 5000 + "1"))


def test_too_long():
    err = _error("0: (" + "1+" * 6000 + "1)")
    assert err.position is None
    assert "too long (12006 characters, at most 10000)" in str(err)


def test_non_string_input():
    with pytest.raises(SettingsError) as info:
        parse_curve(None, field="zoom")
    assert info.value.field == "zoom"


# --- check_range -------------------------------------------------------------------------------


def test_check_range_accepts_values_inside():
    check_range(np.array([0.0, 0.5, 1.0]), 0, 1, field="interpolation_args")


def test_check_range_names_the_first_frame_outside():
    values = np.array([0.0, 0.5, 0.9, 1.0, 0.2, 0.1, 0.3, 1.3, -2.0])
    with pytest.raises(SettingsError) as info:
        check_range(values, 0, 1, field="interpolation_args")
    assert str(info.value) == (
        "`interpolation_args`: frame 7 has value 1.3, expected a value in [0, 1]"
    )


def test_check_range_rejects_nan():
    with pytest.raises(SettingsError, match="frame 1 has value nan"):
        check_range([0.5, float("nan")], 0, 1, field="x")


# --- properties --------------------------------------------------------------------------------

_GRAMMAR_ALPHABET = "0123456789:(),.+-*/%tmax_fsincopie "


def _only_finite_floats_or_settings_error(text: str) -> None:
    try:
        values = curve_values(text, 5, field="zoom")
    except SettingsError as err:
        assert err.field == "zoom"
        return
    assert values.shape == (5,)
    assert values.dtype == np.float64
    assert np.all(np.isfinite(values))


@settings(deadline=500, max_examples=300)
@given(st.text())
def test_any_text_gives_finite_values_or_a_settings_error(text):
    _only_finite_floats_or_settings_error(text)


@settings(deadline=500, max_examples=300)
@given(st.text(alphabet=_GRAMMAR_ALPHABET))
def test_grammar_like_text_gives_finite_values_or_a_settings_error(text):
    _only_finite_floats_or_settings_error(text)


_EXPRESSION_PARTS = st.sampled_from(
    [
        *("t", "max_f", "pi", "e", "1", "0", "2.5", "1e3"),
        *("+", "-", "*", "/", "%", "**", "(", ")", ","),
        *("sin(", "log(", "sqrt(", "min(", "max(", "exp(", "floor("),
    ]
)


@settings(deadline=500, max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.lists(_EXPRESSION_PARTS, min_size=1, max_size=12)),
        min_size=1,
        max_size=4,
    )
)
def test_structured_text_gives_finite_values_or_a_settings_error(pairs):
    text = ", ".join(f"{frame}: ({''.join(parts)})" for frame, parts in pairs)
    _only_finite_floats_or_settings_error(text)


# --- audio features ----------------------------------------------------------------------------


def _features():
    from fractions import Fraction

    from giffusion_nb.keyframes.audio_terms import FrameFeatures

    pulse = np.zeros(40)
    pulse[[5, 15]] = 1.0
    return FrameFeatures(lambda term: pulse, Fraction(10))


def test_audio_features_enter_every_kind_of_key_frame():
    features = _features()
    values = curve_values("0: (1.0 + 0.1*onset), 10: (1.0), 20: (2*onset)", 20, features=features)
    assert values[[4, 5, 6]].tolist() == pytest.approx([1.0, 1.1, 1.0])
    # frame 10 is a number interpolating to frame 20's expression at its own frame (0 there)
    assert values[10:20].tolist() == pytest.approx(list(np.linspace(1.0, 0.0, 11)[:10]))


def test_a_feature_without_audio_is_an_error_naming_field_line_and_column():
    text = "0: (1.0),\n12: (1.0 + 0.04*onset)"
    with pytest.raises(SettingsError) as info:
        curve_values(text, 20, field="zoom")
    err = info.value
    assert err.field == "zoom" and err.position == text.index("onset")
    assert "'onset' (line 2, column 17) is an audio feature" in err.message
    assert "no audio input: set audio_input" in err.message
    assert parse_curve(text).audio_terms()[0].name == "onset"


def test_a_feature_that_breaks_an_expression_names_the_frame():
    with pytest.raises(SettingsError, match="gives a division by zero at frame 0"):
        curve_values("0: (1 / onset)", 10, field="zoom", features=_features())
