import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import KeyFrame, format_prompts, num_frames, parse_prompts


def test_sorted_with_colons_and_last_character_kept():
    key_frames = parse_prompts("60: a picture of a lion\n0: a fox: at dawn\n12: x")
    assert key_frames == (
        KeyFrame(0, "a fox: at dawn"),
        KeyFrame(12, "x"),
        KeyFrame(60, "a picture of a lion"),
    )
    assert num_frames(key_frames) == 61


def test_blank_lines_whitespace_and_crlf():
    key_frames = parse_prompts("\n  0 :  a corgi  \r\n\n 5:a lion")
    assert key_frames == (KeyFrame(0, "a corgi"), KeyFrame(5, "a lion"))


def test_first_key_frame_need_not_be_zero():
    key_frames = parse_prompts("4: a corgi")
    assert num_frames(key_frames) == 5


def test_format_round_trip():
    text = "0: a corgi\n10: a lion: roaring"
    assert format_prompts(parse_prompts(text)) == text


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("0: a corgi\n0: a lion", 2, "key frame 0 appears twice"),
        ("0: a corgi\n-3: a lion", 2, "negative"),
        ("0: a corgi\n1.5: a lion", 2, "non-negative integer"),
        ("0: a corgi\nten: a lion", 2, "found 'ten'"),
        ("0: a corgi\n\n7:   ", 3, "empty prompt"),
        ("a corgi without a frame", 1, "no colon"),
        (": a corgi", 1, "key frame number"),
        ("99999999: a corgi", 1, "too large"),
    ],
)
def test_errors_name_the_line(text, line, words):
    with pytest.raises(SettingsError) as info:
        parse_prompts(text)
    assert info.value.field == "prompts"
    assert info.value.line == line
    assert words in str(info.value)
    assert str(info.value).startswith(f"`prompts`, line {line}:")


def test_empty_text_is_an_error():
    with pytest.raises(SettingsError, match="at least one line"):
        parse_prompts(" \n\n")


def test_the_same_text_is_parsed_once(monkeypatch):
    from giffusion_nb.keyframes import prompts

    lines = []
    parse_line = prompts._parse_line
    monkeypatch.setattr(prompts, "_parse_line", lambda *a: lines.append(a) or parse_line(*a))
    text = "0: a parsed-once corgi\n9: a lion"
    assert parse_prompts(text) is parse_prompts(text)
    assert len(lines) == 2  # two lines, parsed by the first call only
