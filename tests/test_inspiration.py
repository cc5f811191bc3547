"""Inspiration: topics -> key-framed prompts, offline and from a tiny local GPT-2."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.inspiration import (
    Inspiration,
    OfflinePromptGenerator,
    TransformersPromptGenerator,
    clean_prompt,
    inspire,
    parse_topics,
)
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.keyframes.weights import is_weighted, plain_text


def frames(inspiration: Inspiration) -> list[int]:
    return [key_frame.frame for key_frame in parse_prompts(inspiration.text)]


def test_offline_prompts_parse_and_are_spaced_by_fps():
    inspiration = inspire("a corgi, a lighthouse\na lion", fps=10, seed=1)
    key_frames = parse_prompts(inspiration.text)
    assert [key_frame.frame for key_frame in key_frames] == [0, 10, 20]
    assert [key_frame.prompt.split(" ")[:2] for key_frame in key_frames] == [
        ["a", "corgi"],
        ["a", "lighthouse"],
        ["a", "lion"],
    ]
    assert inspiration.source == "offline"
    assert inspiration.message == ""


@pytest.mark.parametrize(("fps", "step"), [(12.4, 12), (1, 1), (120, 120), (7.6, 8)])
def test_spacing_rounds_fps(fps, step):
    assert frames(inspire("a, b, c", fps=fps)) == [0, step, 2 * step]


def test_count_prompts_without_topics():
    assert frames(inspire(count=5, fps=6)) == [0, 6, 12, 18, 24]
    assert frames(inspire("", count=1)) == [0]
    assert frames(inspire([], count=100, fps=1)) == list(range(100))


def test_topics_given_as_a_list_keep_their_commas():
    prompts = parse_prompts(inspire(["a corgi, in a hat", "a lion"], fps=2).text)
    assert prompts[0].prompt.startswith("a corgi, in a hat ")
    assert prompts[1].prompt.startswith("a lion ")


def test_same_seed_same_prompts_other_seed_other_prompts():
    assert inspire("a corgi, a lion", seed=5).text == inspire("a corgi, a lion", seed=5).text
    assert inspire("a corgi, a lion", seed=5).text != inspire("a corgi, a lion", seed=6).text
    assert inspire(seed=5).text == inspire(seed=5).text
    assert inspire(seed=5).text != inspire(seed=6).text


def test_more_prompts_without_topics_extend_the_same_sequence():
    assert inspire(count=6, seed=2).text.startswith(inspire(count=4, seed=2).text)


def test_offline_generator_directly():
    prompts = OfflinePromptGenerator().prompts(["a corgi"], 4, seed=0)
    assert len(prompts) == 1
    assert prompts[0].startswith("a corgi ")
    assert prompts[0].count(",") == 3


def test_colons_and_line_breaks_in_topics_cannot_break_the_format():
    topics = ["10: a corgi", "a lion:\n20: x", "tab\there\u2028sep\x85next\x00"]
    key_frames = parse_prompts(inspire(topics, fps=4).text)
    assert [key_frame.frame for key_frame in key_frames] == [0, 4, 8]
    assert key_frames[0].prompt.startswith("10 a corgi ")
    assert key_frames[1].prompt.startswith("a lion 20 x ")
    assert key_frames[2].prompt.startswith("tab here sep next ")
    assert all(":" not in key_frame.prompt for key_frame in key_frames)


def test_parse_topics():
    assert parse_topics(" a corgi ,, a  lion\n\n: \r\nthe sea ") == ["a corgi", "a lion", "the sea"]
    assert parse_topics(("a, b", "  ")) == ["a, b"]
    assert parse_topics("") == []
    assert clean_prompt("  a:b \n c ,") == "a b c"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fps": 0.5}, "fps"),
        ({"fps": 121}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"fps": "10"}, "fps"),
        ({"count": 0}, "inspiration_count"),
        ({"count": 101}, "inspiration_count"),
        ({"count": 2.5}, "inspiration_count"),
        ({"seed": "x"}, "seed"),
        ({"topics": ",".join(["x"] * 101)}, "inspiration_topics"),
        ({"topics": "a" * 201}, "inspiration_topics"),
        ({"topics": ["a", 3]}, "inspiration_topics"),
        ({"topics": 7}, "inspiration_topics"),
    ],
)
def test_errors_name_the_field(kwargs, field):
    with pytest.raises(SettingsError) as caught:
        inspire(**kwargs)
    assert caught.value.field == field


@settings(max_examples=200, deadline=None)
@given(
    topics=st.one_of(st.text(), st.lists(st.text(max_size=30), max_size=8)),
    fps=st.floats(min_value=0, max_value=130),
    seed=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_any_topics_give_text_that_parses_or_a_settings_error(topics, fps, seed):
    try:
        inspiration = inspire(topics, fps=fps, seed=seed)
    except SettingsError:
        return
    key_frames = parse_prompts(inspiration.text)
    assert len(key_frames) == (len(parse_topics(topics)) or 4)


class FailingGenerator:
    model_id = "broken-model"

    def prompts(self, topics, count, seed):
        raise RuntimeError("out of memory")


def test_a_failing_generator_falls_back_to_offline():
    inspiration = inspire("a corgi", generator=FailingGenerator())
    assert inspiration.source == "offline"
    assert "broken-model" in inspiration.message
    assert "out of memory" in inspiration.message
    assert "offline generator" in inspiration.message
    assert parse_prompts(inspiration.text)[0].prompt.startswith("a corgi ")


class EchoGenerator:
    def prompts(self, topics, count, seed):
        return [f"{topic}: echoed\nsecond line" for topic in topics]


def test_a_given_generator_is_used_and_its_output_cleaned():
    inspiration = inspire("a corgi, a lion", generator=EchoGenerator(), fps=3)
    assert inspiration.source == "EchoGenerator"
    assert inspiration.text == "0: a corgi echoed second line\n3: a lion echoed second line"


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A random 2-layer GPT-2 with a byte-level tokenizer (no merges), saved to a folder."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=[], pad_token="<|endoftext|>")
    config = GPT2Config(
        vocab_size=len(vocab),
        n_layer=2,
        n_head=2,
        n_embd=32,
        n_positions=128,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tokenizer.save_pretrained(folder)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return str(folder)


def test_transformers_model_from_a_local_folder(tiny_gpt2):
    import torch

    state = torch.get_rng_state()
    first = inspire("a corgi, a lion", fps=8, seed=3, model_id=tiny_gpt2)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.source == tiny_gpt2
    assert first.message == ""
    key_frames = parse_prompts(first.text)
    assert [key_frame.frame for key_frame in key_frames] == [0, 8]
    assert key_frames[0].prompt.startswith("a corgi")
    assert key_frames[1].prompt.startswith("a lion")
    assert inspire("a corgi, a lion", fps=8, seed=3, model_id=tiny_gpt2) == first


def test_transformers_generator_without_topics_continues_listed_subjects(tiny_gpt2):
    generator = TransformersPromptGenerator(tiny_gpt2, max_new_tokens=4)
    prompts = generator.prompts([], 3, seed=1)
    assert len(prompts) == 3
    assert prompts == generator.prompts([], 3, seed=1)
    assert all(prompt and "\n" not in prompt and ":" not in prompt for prompt in prompts)


def test_missing_hub_model_falls_back_quickly(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    started = time.monotonic()
    inspiration = inspire("a corgi", model_id="no-such-org/no-such-model-xyz")
    assert time.monotonic() - started < 10
    assert inspiration.source == "offline"
    assert "could not load no-such-org/no-such-model-xyz" in inspiration.message
    assert inspiration.message.endswith("used the offline generator")
    assert parse_prompts(inspiration.text)[0].prompt.startswith("a corgi ")


# --- builtin:shapes-sd: prompts in its own caption words ---------------------------------------


def _caption_words_only(prompt: str) -> bool:
    from giffusion_nb.keyframes.shape_words import WORDS

    return all(word in WORDS for word in prompt.split())


def test_shapes_model_gets_prompts_it_can_draw():
    from giffusion_nb.keyframes.shape_words import COLOURS, SHAPES

    inspiration = inspire(fps=8, seed=5, count=6, for_model="builtin:shapes-sd")
    key_frames = parse_prompts(inspiration.text)
    assert [key_frame.frame for key_frame in key_frames] == [0, 8, 16, 24, 32, 40]
    for key_frame in key_frames:
        assert _caption_words_only(key_frame.prompt), key_frame.prompt
        assert sum(word in COLOURS for word in key_frame.prompt.split()) == 1
        assert sum(word in SHAPES for word in key_frame.prompt.split()) == 1
    prompts = [key_frame.prompt for key_frame in key_frames]
    assert all(a != b for a, b in itertools.pairwise(prompts))  # every key frame changes
    assert inspiration.source == "builtin:shapes-sd words" and inspiration.message == ""
    # The language model is never loaded for it (it would write prose the model can't draw).
    again = inspire(fps=8, seed=5, count=6, for_model="builtin:shapes-sd", model_id="no/such")
    assert again.text == inspiration.text


def test_shapes_prompts_keep_the_words_a_topic_names():
    inspiration = inspire(
        "a red circle, small blue stars on a white background, a corgi",
        for_model="builtin:shapes-sd",
        seed=1,
    )
    first, second, third = (key.prompt for key in parse_prompts(inspiration.text))
    assert first.startswith("a red circle")
    assert second == "a small blue star on a white background"
    assert _caption_words_only(third)
    assert "'a corgi' got a random colour and shape" in inspiration.message


def test_brackets_in_topics_stay_text_and_a_negative_mark_is_refused():
    inspiration = inspire(["a (red:1.5) fox", "[cat]"], fps=10, seed=3)
    key_frames = parse_prompts(inspiration.text)
    assert not any(is_weighted(key_frame.prompt) for key_frame in key_frames)
    assert plain_text(key_frames[0].prompt).startswith("a (red 1.5) fox")
    assert plain_text(key_frames[1].prompt).startswith("[cat]")
    with pytest.raises(SettingsError) as caught:
        inspire("a corgi, a lion --neg blurry")
    assert caught.value.field == "inspiration_topics"
    assert "topic 2" in caught.value.message
