"""Per-key-frame negative prompts (`--neg`) and A1111 prompt weights (`(word:1.3)`): parsing,
their errors, and what they do to the frames of the tiny SD and SDXL pipelines."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch
from helpers import pixels, spy_calls

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.lora_text import parse_lora
from giffusion_nb.keyframes.prompts import KeyFrame, format_prompts, parse_prompts
from giffusion_nb.keyframes.weights import parse_weights, plain_text, prompt_input
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

# --- parsing ---------------------------------------------------------------------------------


def _weights(text: str) -> list[tuple[str, float]]:
    return [(part.text, part.weight) for part in parse_weights(text).fragments]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("a (red:1.3) fox", [("a ", 1.0), ("red", 1.3), (" fox", 1.0)]),
        ("(red) [fox]", [("red", 1.1), (" ", 1.0), ("fox", 0.909091)]),
        ("((red))", [("red", 1.21)]),
        ("([red])", [("red", 1.0)]),
        ("(a (red:2) fox:0.5)", [("a ", 0.5), ("red", 1.0), (" fox", 0.5)]),
        ("(red : 1.5 )", [("red ", 1.5)]),
        ("\\(red\\) fox: at dawn", [("(red) fox: at dawn", 1.0)]),
        ("a cat (at 3:30 pm)", [("a cat ", 1.0), ("at 3:30 pm", 1.1)]),
    ],
)
def test_weights_as_a1111_writes_them(text, fragments):
    assert _weights(text) == fragments


def test_plain_text_and_what_is_encoded():
    assert prompt_input("a (red:1.0) fox") == "a red fox"  # weight 1: the plain prompt
    assert prompt_input("\\(literal\\)") == "(literal)"
    assert plain_text("a (red:1.5) fox") == "a red fox"
    assert parse_weights("a (red:1.5) fox") == prompt_input("a (red:1.5) fox")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0: a corgi\n4: a (red fox", "character 2 of the prompt: '(' is never closed"),
        ("0: a corgi\n4: a red) fox", "character 5 of the prompt: ')' closes no '('"),
        ("0: a corgi\n4: a [red fox)", "')' closes no '('"),
        ("0: a corgi\n4: (red:11)", "weight 11 is outside 0 to 10"),
        ("0: a corgi\n4: (red:-1)", "weight -1 is outside 0 to 10"),
        ("0: a corgi\n4: " + "(" * 25 + "red" + ")" * 25, "by 10.8, more than 10"),
        ("0: a corgi\n4: [cat:dog:10]", "prompt editing"),
        ("0: a corgi\n4: a lion --neg", "no negative prompt after it"),
        ("0: a corgi\n4: a lion --neg dark --neg blurry", "`--neg` 2 times"),
        ("0: a corgi\n4: --neg blurry", "empty prompt"),
        ("0: a corgi\n4: a lion --neg (dark", "character 0 of the negative prompt"),
    ],
)
def test_weight_and_negative_errors_name_the_line(text, words):
    with pytest.raises(SettingsError) as info:
        parse_prompts(text)
    assert (info.value.field, info.value.line) == ("prompts", 2)
    assert words in str(info.value)


def test_a_weighted_negative_prompt_setting_is_checked():
    with pytest.raises(SettingsError, match="character 7 of the negative prompt") as info:
        check_setting(Settings(negative_prompt="blurry (dark"), "negative_prompt")
    assert info.value.field == "negative_prompt"


def test_key_frame_negatives_parse_and_write_back():
    key_frames = parse_prompts("0: a corgi\n12: a lion --neg blurry, dark\n20: a--neg b")
    assert key_frames == (
        KeyFrame(0, "a corgi"),
        KeyFrame(12, "a lion", "blurry, dark"),
        KeyFrame(20, "a--neg b"),  # `--neg` is a word of its own
    )
    assert [key_frame.line for key_frame in key_frames] == [1, 2, 3]
    assert parse_prompts(format_prompts(key_frames)) == key_frames


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (" @ 1", 1, "expected an adapter before '@'"),
        ("owner/name @ ", 1, "expected a scale after '@'"),
        ("owner/name\n\nowner/other @ 0: (1", 3, "the scale: expected"),
        ("owner/name @ 0: (0), 8: (5)", 1, "frame 7 has value 4.375, expected a value in [-4, 4]"),
        ("owner/name @ 9", 1, "expected a value in [-4, 4]"),
        ("owner/name/adapter.bin", 1, "must be a .safetensors file"),
        ("./missing.safetensors", 1, "no such file or folder"),
        ("owner/name @ 1\nnot a hub id @ 1", 2, "no such file or folder"),
    ],
)
def test_lora_line_errors_name_the_line(text, line, words):
    with pytest.raises(SettingsError) as info:
        check_setting(Settings(prompts="0: a\n8: b", lora=text), "lora")
    assert (info.value.field, info.value.line) == ("lora", line)
    assert words in str(info.value)


def test_lora_lines_read_source_and_scale():
    lines = parse_lora("ink.safetensors @ 0: (0), 24: (1)\n\nowner/name\nowner/other@-0.5")
    assert [(line.source, line.scale, line.line) for line in lines] == [
        ("ink.safetensors", "0: (0), 24: (1)", 1),
        ("owner/name", "1", 3),
        ("owner/other", "-0.5", 4),
    ]


# --- frames ----------------------------------------------------------------------------------


def _frames(session: RenderSession) -> np.ndarray:
    return np.stack([pixels(frame.image) for frame in session.render_frames()])


def test_a_key_frame_negative_changes_only_the_segments_touching_it(make_session):
    prompts = "0: a red fox\n4: a cat\n8: a blue whale"
    plain = _frames(make_session(prompts=prompts, batch_size=3))
    negative = _frames(make_session(prompts=prompts + " --neg blurry, dark", batch_size=3))
    change = np.abs(negative - plain).max(axis=(1, 2, 3))
    assert change[:5].max() <= 1, change  # frames 0..4 do not touch key frame 8
    assert change[5:].min() > 2, change  # frames 5..8 travel towards its negative
    assert all(a <= b for a, b in itertools.pairwise(change[5:])), change


def test_the_negative_prompt_setting_is_the_default_of_every_key_frame(make_session):
    own = "0: a red fox --neg blurry\n2: a blue whale --neg blurry"
    setting = _frames(
        make_session(prompts="0: a red fox\n2: a blue whale", negative_prompt="blurry")
    )
    assert np.array_equal(_frames(make_session(prompts=own)), setting)
    mixed = "0: a red fox --neg snow\n2: a blue whale"
    mixed_frames = _frames(make_session(prompts=mixed, negative_prompt="blurry"))
    assert np.array_equal(mixed_frames[2], setting[2])  # key frame 2 takes the setting
    assert np.abs(mixed_frames[0] - setting[0]).max() > 2


def test_text_prompts_take_each_key_frames_negative(make_session, tiny_pipe, monkeypatch):
    calls = spy_calls(monkeypatch, tiny_pipe)
    prompts = "0: a (red:1.0) fox\n2: a blue whale --neg dark"
    _frames(make_session(prompts=prompts, use_prompt_embeds=False, batch_size=3))
    (call,) = calls
    assert call["prompt"] == ["a red fox", "a red fox", "a blue whale"]
    assert call["negative_prompt"] == ["", "", "dark"]


def test_a_key_frame_negative_without_guidance_is_an_error(make_session):
    with pytest.raises(SettingsError, match="no effect without classifier-free") as info:
        list(make_session(prompts="0: a\n3: b --neg dark", guidance_scale=1.0).render_frames())
    assert (info.value.field, info.value.line) == ("prompts", 2)


def test_weighting_changes_the_frames_and_weight_1_is_the_plain_prompt(make_session):
    """At guidance 7.5: the tiny random model hardly reads its prompts at a lower one."""
    frames = functools.partial(_frame_set, make_session, guidance_scale=7.5)
    plain = frames("0: a red fox\n2: a blue whale")
    assert np.array_equal(frames("0: a (red:1.0) fox\n2: a blue whale"), plain)
    weighted = frames("0: a (red:1.5) fox\n2: a blue whale")
    change = np.abs(weighted - plain).mean(axis=(1, 2, 3))
    assert change[0] > 0.1 and change[1] > 0.05, change
    assert change[2] == 0  # key frame 2 has no weights
    stronger = np.abs(frames("0: a (red:2.5) fox\n2: a blue whale") - plain).mean()
    assert stronger > change.mean()
    two = frames("0: a (red:1.5) fox\n2: a blue whale", batch_size=2)
    assert np.abs(two - weighted).max() <= 1


def _frame_set(make_session, prompts: str, **values) -> np.ndarray:
    return _frames(make_session(prompts=prompts, **values))


def test_weights_need_prompt_embeddings(make_session):
    with pytest.raises(SettingsError, match="turn use_prompt_embeds on") as info:
        list(make_session(prompts="0: a\n2: (b:1.2)", use_prompt_embeds=False).render_frames())
    assert (info.value.field, info.value.line) == ("prompts", 2)
    session = make_session(
        prompts="0: a\n2: b", negative_prompt="(dark:1.2)", use_prompt_embeds=False
    )
    with pytest.raises(SettingsError, match="turn use_prompt_embeds on") as info:
        list(session.render_frames())
    assert info.value.field == "negative_prompt"


@functools.cache
def _pipe(model_id: str, pipeline_class: str = "DiffusionPipeline"):
    return load_pipeline(model_id, pipeline_class, device="cpu")


@pytest.mark.parametrize("model_id", ["builtin:tiny-sd", "builtin:tiny-sdxl"])
def test_compel_encodes_an_unweighted_prompt_as_the_pipeline_does(model_id):
    """So a weight is the only difference between the two encodings."""
    pipe = _pipe(model_id)
    family = family_of(pipe)
    texts = ["a red fox", "a blue whale"]
    with torch.no_grad():
        encoded = family.encode_prompts(pipe, texts, None, torch.device("cpu"))
        compel = family.weighted_embeddings(
            pipe, [parse_weights(text) for text in texts], torch.device("cpu")
        )
        weighted = family.weighted_embeddings(
            pipe, [parse_weights("a (red:1.5) fox")], torch.device("cpu")
        )
    assert set(compel) == set(encoded)
    for name, tensor in encoded.items():
        torch.testing.assert_close(compel[name], tensor)
    assert (weighted["prompt_embeds"][0] - encoded["prompt_embeds"][0]).abs().max() > 0.1


def test_sdxl_renders_weighted_prompts(tmp_path):
    pipe = _pipe("builtin:tiny-sdxl")
    values = {"num_inference_steps": 2, "height": 64, "width": 64, "guidance_scale": 7.5}

    def frames(prompts: str) -> np.ndarray:
        session = RenderSession(
            output_dir=tmp_path, device="cpu", pipeline=pipe, prompts=prompts, **values
        )
        return _frames(session)

    plain = frames("0: a red fox\n2: a blue whale --neg dark")
    assert np.array_equal(frames("0: a (red:1.0) fox\n2: a blue whale --neg dark"), plain)
    weighted = frames("0: a (red:1.5) fox\n2: a blue whale --neg (dark:1.4)")
    change = np.abs(weighted - plain).mean(axis=(1, 2, 3))
    assert change.min() > 0.05, change


def test_a_family_compel_cannot_encode_names_the_weights(tmp_path):
    pipe = _pipe("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline")
    values = {"num_inference_steps": 2, "height": 64, "width": 64}
    values["pipeline_kwargs"] = {"use_resolution_binning": False, "clean_caption": False}
    session = RenderSession(
        output_dir=tmp_path,
        device="cpu",
        pipeline=pipe,
        prompts="0: a\n3: a (red:1.3) fox",
        **values,
    )
    with pytest.raises(SettingsError, match="PixArt-α pipelines cannot encode") as info:
        list(session.render_frames())
    assert (info.value.field, info.value.line) == ("prompts", 2)
    session.settings.prompts = "0: a\n3: a \\(red\\) fox"  # literal brackets are no weights
    assert len(list(session.render_frames())) == 4
