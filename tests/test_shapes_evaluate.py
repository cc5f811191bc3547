"""Tests for scoring a shapes model (giffusion_nb.shapes.evaluate) on the tiny pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.shapes.dataset import COLOURS, SHAPES
from giffusion_nb.shapes.evaluate import (
    PromptScore,
    ShapesReport,
    colour_track,
    evaluate_model,
    format_report,
    format_track,
    render_samples,
    score_images,
    shape_prompts,
    travel_colours,
    travel_frames,
)

PROMPTS = [("a red circle", "red", "circle"), ("a blue star", "blue", "star")]
FAST = {"steps": 2, "size": 64, "progress": False}


def test_prompts_cover_every_colour_and_shape():
    prompts = shape_prompts()
    assert len(prompts) == len(COLOURS) * len(SHAPES)
    assert {(colour, shape) for _, colour, shape in prompts} == {
        (colour, shape) for colour in COLOURS for shape in SHAPES
    }
    assert ("a purple ring", "purple", "ring") in prompts


def test_report_counts_and_fractions_agree(tiny_pipe):
    report = evaluate_model(tiny_pipe, prompts=PROMPTS, samples=1, **FAST)
    assert [score.prompt for score in report.scores] == [prompt for prompt, _, _ in PROMPTS]
    assert report.count == len(PROMPTS)
    for score in report.scores:
        assert score.count == 1
        assert 0 <= score.colour_hits <= 1
        assert 0 <= score.shape_hits <= 1
        assert all(seen is None or seen in COLOURS for seen in score.seen_colours)
        assert all(seen is None or seen in SHAPES for seen in score.seen_shapes)
    assert report.colour_hits == sum(score.colour_hits for score in report.scores)
    assert report.colour_accuracy == report.colour_hits / report.count
    assert report.shape_accuracy == report.shape_hits / report.count


def test_samples_do_not_depend_on_the_batch_size(tiny_pipe):
    one = render_samples(tiny_pipe, PROMPTS, samples=2, batch_size=1, **FAST)
    three = render_samples(tiny_pipe, PROMPTS, samples=2, batch_size=3, **FAST)
    assert one.shape == (2, 2, 64, 64, 3)
    assert one.min() >= 0.0 and one.max() <= 1.0
    np.testing.assert_allclose(one, three, atol=1e-4)  # batched maths rounds a little otherwise
    assert not np.allclose(one[0, 0], one[0, 1], atol=1e-2)  # samples differ
    assert score_images(PROMPTS, one) == score_images(PROMPTS, three)
    # Sample k is the picture of seed + k.
    alone = render_samples(tiny_pipe, PROMPTS[1:], samples=1, seed=1, batch_size=1, **FAST)
    np.testing.assert_allclose(alone[0, 0], one[1, 1], atol=1e-4)


def test_bad_sample_counts_are_refused(tiny_pipe):
    with pytest.raises(SettingsError) as info:
        render_samples(tiny_pipe, PROMPTS, samples=0, **FAST)
    assert info.value.field == "samples"
    with pytest.raises(SettingsError) as info:
        render_samples(tiny_pipe, PROMPTS, batch_size=0, **FAST)
    assert info.value.field == "batch_size"


def test_format_report_lists_every_prompt_and_both_accuracies():
    report = ShapesReport(
        [
            PromptScore("a red circle", "red", "circle", ["red", "red", "blue"], ["circle"] * 3),
            PromptScore(
                "a blue star", "blue", "star", ["blue", None, "blue"], ["ring", None, "star"]
            ),
        ]
    )
    assert (report.colour_hits, report.shape_hits, report.count) == (4, 4, 6)
    text = format_report(report)
    lines = text.splitlines()
    assert "a red circle" in lines[1] and "2/3" in lines[1] and "3/3" in lines[1]
    assert "a blue star" in lines[2] and "2/3" in lines[2] and "1/3" in lines[2]
    assert lines[-2] == "colour accuracy 66.7 % (4/6)"
    assert lines[-1] == "shape accuracy 66.7 % (4/6)"


def test_colour_track_falls_from_red_to_blue():
    red, blue = np.array(COLOURS["red"]), np.array(COLOURS["blue"])
    frames = [np.zeros((64, 64, 3), dtype=np.uint8) for _ in range(5)]
    for index, frame in enumerate(frames):  # a red square that turns blue from the left
        frame[16:48, 16:48] = red
        frame[16:48, 16 : 16 + 8 * index] = blue
    track = colour_track([*frames[:4], Image.fromarray(frames[4])], "red")
    assert track[0] == pytest.approx(32 * 32 / 64**2)
    assert track[-1] == 0.0
    assert track == sorted(track, reverse=True) and len(set(track)) == len(track)
    assert colour_track(frames, "blue")[-1] == track[0]
    with pytest.raises(SettingsError):
        colour_track(frames, "orange")


def test_format_track_prints_percentages():
    text = format_track([0.25, 0.125, 0.0], "red")
    assert text.splitlines() == [
        "red per frame (%): 25.0 12.5 0.0",
        "first 25.0 %, last 0.0 %, min 0.0 %, max 25.0 %",
    ]


def test_travel_colours_are_the_first_and_last_key_frames_colours():
    assert travel_colours("0: a red circle\n12: a green ring\n24: a blue square") == (
        "red",
        "blue",
    )
    with pytest.raises(SettingsError) as error:
        travel_colours("0: a red circle\n24: a square")
    assert error.value.field == "prompts" and "key frame 24" in str(error.value)


def test_travel_frames_come_from_the_render_session(tiny_pipe):
    frames = travel_frames(
        tiny_pipe, "builtin:tiny-sd", "0: a red circle\n3: a blue square", steps=2
    )
    assert len(frames) == 4 and all(frame.size == (64, 64) for frame in frames)
    again = travel_frames(
        tiny_pipe, "builtin:tiny-sd", "0: a red circle\n3: a blue square", steps=2, batch_size=1
    )
    for a, b in zip(frames, again, strict=True):  # batch size changes float rounding only
        difference = np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int))
        assert difference.max() <= 1


def test_eval_shapes_command_prints_the_table_tracks_and_json(tiny_pipe, capsys):
    from giffusion_nb.cli import main

    code = main(
        [
            "eval-shapes", "--model", "builtin:tiny-sd", "--device", "cpu", "--samples", "1",
            "--steps", "2", "--travel", "0: a red circle\n3: a blue square", "--quiet", "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for prompt, _, _ in shape_prompts():
        assert prompt in out
    assert "colour accuracy" in out and "shape accuracy" in out
    assert "red per frame (%)" in out and "blue per frame (%)" in out
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["samples"] == len(shape_prompts())
    assert 0 <= figures["colour_accuracy"] <= 1 and 0 <= figures["shape_accuracy"] <= 1
    assert [len(track) for track in figures["tracks"].values()] == [4, 4]
