"""Tests for giffusion_nb.keyframes.curve_text: numbers and key-frame strings as typed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from giffusion_nb.keyframes.curve_text import format_curve, format_number, step_decimals
from giffusion_nb.keyframes.curves import parse_curve


@pytest.mark.parametrize(
    ("step", "decimals"), [(0.01, 2), (0.25, 2), (0.1, 1), (0.005, 3), (1.0, 0), (5, 0), (10, 0)]
)
def test_step_decimals(step, decimals):
    assert step_decimals(step) == decimals


@pytest.mark.parametrize("step", [0, -0.1, float("nan"), float("inf")])
def test_a_step_must_be_positive(step):
    with pytest.raises(ValueError, match="positive"):
        step_decimals(step)


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [
        (1.0400000001, 0.01, "1.04"),
        (1.0399999999, 0.01, "1.04"),
        (1.0, 0.01, "1.0"),
        (0.1 + 0.2, 0.1, "0.3"),
        (1.005, 0.005, "1.005"),
        (1.0101, 0.005, "1.01"),
        (0.75, 0.25, "0.75"),
        (2.0, 1.0, "2"),
        (12.6, 1.0, "13"),
        (-1.54, 0.1, "-1.5"),
        (-0.004, 0.01, "0.0"),
        (-0.4, 1.0, "0"),
        (1234567.891, 0.01, "1234567.89"),
    ],
)
def test_format_number_is_the_shortest_decimal_at_the_step(value, step, text):
    assert format_number(value, step) == text


def test_format_number_refuses_what_a_string_cannot_hold():
    with pytest.raises(ValueError, match="cannot write"):
        format_number(float("nan"), 0.01)


def test_format_curve_sorts_and_keeps_text_values_as_typed():
    pairs = [(30, 1.0), (0, 1.0), (12, 1.0400000000000003), (40, "1 + t*0.01")]
    text = format_curve(pairs, 0.01)
    assert text == "0: (1.0), 12: (1.04), 30: (1.0), 40: (1 + t*0.01)"
    curve = parse_curve(text)
    np.testing.assert_allclose(curve.values(31)[[0, 12, 30]], [1.0, 1.04, 1.0])


def test_format_curve_refuses_negative_or_fractional_frames():
    for frame in (-1, 2.5):
        with pytest.raises(ValueError, match="non-negative integers"):
            format_curve([(frame, 1.0)], 0.01)


def test_parse_curve_keeps_each_value_as_typed():
    curve = parse_curve(" 12: ( 1.0400 ),0:(t*10) , 30: (max(1, 2))")
    assert [frame for frame, _ in curve.keyframes] == [0, 12, 30]
    assert curve.sources == ("t*10", "1.0400", "max(1, 2)")
    assert parse_curve(" -0.5 ").sources == ("-0.5",)


steps = st.sampled_from([0.01, 0.1, 0.005, 0.25, 1.0])


@given(
    st.dictionaries(
        st.integers(0, 500), st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=8
    ),
    steps,
)
def test_written_strings_parse_back_to_the_snapped_values(values, step):
    text = format_curve(values.items(), step)
    curve = parse_curve(text)
    assert [frame for frame, _ in curve.keyframes] == sorted(values)
    for (frame, node), source in zip(curve.keyframes, curve.sources, strict=True):
        assert abs(node.value - values[frame]) <= step / 2 + 1e-9 * max(1.0, abs(values[frame]))
        assert source == format_number(values[frame], step)
        assert len(source.partition(".")[2]) <= max(step_decimals(step), 1)
