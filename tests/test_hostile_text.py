"""Hostile text where settings enter: property tests on the prompt and JSON parsers, deep
nesting, huge numbers, odd characters; each parses or says why, naming the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.limits import parse_json_object
from giffusion_nb.settings import Settings, parse_settings_json


@settings(deadline=1000, max_examples=300)
@given(st.text(max_size=300))
def test_any_prompt_text_parses_or_says_why(text):
    try:
        key_frames = parse_prompts(text)
    except SettingsError as exc:
        assert exc.field == "prompts"
    else:
        assert list(key_frames) == sorted(key_frames, key=lambda key_frame: key_frame.frame)
        assert all(key_frame.prompt.strip() or key_frame.image for key_frame in key_frames)


@settings(deadline=1000, max_examples=300)
@given(
    st.one_of(st.text(max_size=200), st.text(alphabet='{}[]":,0123456789 truefalsn', max_size=200))
)
def test_any_json_text_parses_or_says_why(text):
    try:
        value = parse_json_object("pipeline_kwargs", text)
    except SettingsError as exc:
        assert exc.field == "pipeline_kwargs"
    else:
        assert isinstance(value, dict)
    try:
        parse_settings_json(text)
    except SettingsError as exc:
        assert exc.field == "settings"


def test_deeply_nested_json_is_refused_quickly():
    with pytest.raises(SettingsError, match="nested too deeply"):
        parse_json_object("scheduler_kwargs", "[" * 10_000 + "]" * 10_000)


def test_output_format_is_read_in_lower_case_everywhere(make_session):
    session = make_session(prompts="0: a corgi\n1: a lion", output_format=" GIF ")
    assert session.settings.output_format == "gif"
    session.settings.output_format = "MP4 "  # as a widget or a notebook cell sets it
    assert session.settings.output_format == "mp4"
    session.settings.output_format = " Gif"
    output = session.render()
    assert output.name.endswith(".gif") and output.is_file()
    saved = json.loads((output.parent / "settings.json").read_text())
    assert saved["output_format"] == "gif"


def test_a_huge_integer_set_on_the_trait_itself_is_named_not_converted():
    from giffusion_nb.validation import validate

    settings = Settings()
    settings.seed = 10**5000  # a notebook cell, past coercion; str() of it would raise
    with pytest.raises(SettingsError, match="got a 5001-digit number") as info:
        validate(settings)
    assert info.value.field == "seed"


def test_brackets_nested_thousands_deep_parse_at_once():
    """Down-weighting nests without limit (it tends to 0, within 0 to 10); 4990 levels parse
    in well under a second, and the weight is 0, not an error or a raw underflow."""
    import time

    from giffusion_nb.keyframes.weights import parse_weights

    started = time.perf_counter()
    prompt = parse_weights("a " + "[" * 4990 + "fox" + "]" * 4990)
    print(f"4990 nested brackets: {time.perf_counter() - started:.3f} s")
    assert [(part.text, part.weight) for part in prompt.fragments] == [("a ", 1.0), ("fox", 0.0)]


ODD_TEXT = "\u202eevil\u202c \u2067rtl\u2069 zero\u200bwidth nul\x00 bom\ufeff \x1bcreset"


def test_bidirectional_controls_and_other_odd_characters_are_text(make_session):
    """Format and control characters render as any text does (Arabic and Hebrew need the
    bidirectional ones); in error messages they show escaped, so a terminal never obeys them."""
    session = make_session(prompts=f"0: a fox {ODD_TEXT}\n1: a lion --neg {ODD_TEXT}")
    frames = list(session.render_frames())
    assert [frame.index for frame in frames] == [0, 1]
    with pytest.raises(SettingsError) as info:
        parse_prompts(f"1{ODD_TEXT}: a fox")
    shown = str(info.value)
    assert not any(char in shown for char in "\u202e\u2067\u200b\x00\ufeff\x1b"), shown
    assert "\\u202e" in shown and "\\x1b" in shown
