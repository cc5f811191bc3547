"""Tests for the shapes model's data, tokenizer and training script (giffusion_nb.shapes)."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from giffusion_nb.keyframes.shape_words import WORDS
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.pipelines.tiny_text_encoders import byte_level_clip_tokenizer
from giffusion_nb.shapes import models, train
from giffusion_nb.shapes.classify import classify_shape, dominant_colour
from giffusion_nb.shapes.dataset import (
    BACKGROUNDS,
    COLOURS,
    SHAPES,
    caption,
    sample_batch,
    save_examples,
)


def test_same_seed_same_pictures_and_captions():
    first = sample_batch(6, torch.Generator().manual_seed(3))
    again = sample_batch(6, torch.Generator().manual_seed(3))
    other = sample_batch(6, torch.Generator().manual_seed(4))
    assert torch.equal(first.images, again.images) and first.captions == again.captions
    assert not torch.equal(first.images, other.images)


def test_captions_name_what_the_pictures_show():
    batch = sample_batch(40, torch.Generator().manual_seed(0))
    assert batch.images.shape == (40, 3, 64, 64)
    assert batch.images.min() >= 0 and batch.images.max() <= 1
    for i, text in enumerate(batch.captions):
        words = text.split()
        assert words[0] == "a" and batch.colours[i] in words and batch.shapes[i] in words
        if batch.backgrounds[i] != "black":
            assert text.endswith(f"on a {batch.backgrounds[i]} background")
        corner = batch.images[i, :, 0, 0] * 255
        assert torch.allclose(corner, torch.tensor(BACKGROUNDS[batch.backgrounds[i]]).float())
        picture = batch.images[i].permute(1, 2, 0).numpy()
        assert dominant_colour(picture) == batch.colours[i]
        assert classify_shape(picture) == batch.shapes[i]
    assert {*batch.shapes} == {*SHAPES} and {*batch.colours} == {*COLOURS}


def test_pictures_scale_with_the_size():
    batch = sample_batch(2, torch.Generator().manual_seed(1), image_size=96)
    assert batch.images.shape == (2, 3, 96, 96)


def test_caption_wording():
    assert caption("circle", "red") == "a red circle"
    assert caption("star", "blue", size_word="small", background="white") == (
        "a small blue star on a white background"
    )


def test_save_examples_writes_pictures_and_captions(tmp_path):
    paths = save_examples(tmp_path, 3, seed=2)
    assert [path.name for path in paths] == ["shape_0000.png", "shape_0001.png", "shape_0002.png"]
    lines = (tmp_path / "captions.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [path.name for path in paths]
    assert lines[0].split("\t")[1] == sample_batch(3, torch.Generator().manual_seed(2)).captions[0]


def test_tokenizer_makes_each_caption_word_one_token():
    tokenizer = byte_level_clip_tokenizer(WORDS)
    for word in WORDS:
        assert tokenizer.tokenize(word) == [f"{word}</w>"]
    assert tokenizer("a red circle").input_ids == [
        tokenizer.bos_token_id,
        *tokenizer.convert_tokens_to_ids(["a</w>", "red</w>", "circle</w>"]),
        tokenizer.eos_token_id,
    ]
    # any other word still splits into bytes, and the byte vocabulary is unchanged
    assert tokenizer.tokenize("reddish")[-1] == "h</w>" and len(tokenizer.tokenize("reddish")) > 1
    plain = byte_level_clip_tokenizer()
    assert tokenizer.tokenize("z") == plain.tokenize("z")
    assert len(tokenizer) > len(plain)


def test_time_budget_fits_the_step_count(monkeypatch):
    clock = [0.0]
    totals = []

    def step(index, total):  # every step takes one second
        clock[0] += 1.0
        totals.append(total)
        return 0.0

    monkeypatch.setattr(train.time, "monotonic", lambda: clock[0])
    losses, done = train._run_steps("x", 1000, 2.0, step)  # a two-minute budget
    assert done == len(losses) == 120
    assert totals[0] == 1000 and totals[-1] == 120
    losses, done = train._run_steps("x", 30, 2.0, step)  # fits: all steps run
    assert done == 30


def test_time_budget_follows_the_speed_both_ways(monkeypatch):
    clock, totals = [0.0], []

    def step(index, total):  # slow (3 s) for the first 100 steps, then fast (0.5 s)
        clock[0] += 3.0 if index < 100 else 0.5
        totals.append(total)
        return 0.0

    monkeypatch.setattr(train.time, "monotonic", lambda: clock[0])
    _, done = train._run_steps("x", 1000, 10.0, step)  # ten minutes
    assert min(totals) < 300  # at 3 s a step, 600 s fit about 200
    assert done > 400  # once faster, the count grows back
    assert clock[0] <= 600 + 50 * 3.0


def test_learning_rate_warms_up_then_decays():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    rates = []
    for step in range(0, 100):
        train._set_lr(optimizer, 1.0, step, 10, 100)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert rates[-1] == pytest.approx(0.1, abs=0.01)


TINY_RUN = {
    "vae_batch_size": 2, "vae_steps": 2, "cache_size": 6, "batch_size": 2, "unet_steps": 2,
    "warmup_steps": 1,
}  # fmt: skip


def test_training_saves_a_pipeline_that_loads_and_renders(tmp_path):
    folder = train.train(train.TrainConfig(**TINY_RUN), tmp_path / "model")
    report = json.loads((folder / "training.json").read_text())
    assert report["vae_steps_done"] == 2 and report["unet_steps_done"] == 2
    assert report["scaling_factor"] > 0
    card = (folder / "README.md").read_text()
    assert "--vae-steps 2" in card and "--unet-steps 2" in card and "--seed" not in card
    pipe = load_pipeline(str(folder), device="cpu")
    assert pipe.unet.dtype == torch.float32  # fp16 on disk, fp32 to run on the CPU
    assert pipe.vae.config.scaling_factor == pytest.approx(report["scaling_factor"])
    assert pipe.vae_scale_factor == 4 and pipe.unet.config.sample_size == models.LATENT_SIZE
    assert type(pipe.scheduler).__name__ == "DPMSolverMultistepScheduler"
    image = pipe("a red circle", num_inference_steps=2, output_type="np").images[0]
    assert image.shape == (models.IMAGE_SIZE, models.IMAGE_SIZE, 3)


def test_a_second_run_reuses_the_first_runs_vae(tmp_path):
    first = train.train(train.TrainConfig(**TINY_RUN), tmp_path / "first")
    second = train.train(
        train.TrainConfig(**{**TINY_RUN, "vae": str(first), "seed": 1}), tmp_path / "second"
    )
    report = json.loads((second / "training.json").read_text())
    assert report["vae_steps_done"] == 2 and report["config"]["vae"] == str(first)
    weights = "vae/diffusion_pytorch_model.safetensors"
    assert (first / weights).read_bytes() == (second / weights).read_bytes()


def test_cached_latents_have_unit_variance_and_their_captions():
    vae = models.build_vae().eval()
    config = train.TrainConfig(cache_size=40)
    cache = train.encode_pictures(vae, config, torch.Generator().manual_seed(0), chunk=16)
    assert cache.latents.shape == (40, 4, models.LATENT_SIZE, models.LATENT_SIZE)
    assert len(cache.captions) == 40 and cache.captions[0].startswith("a ")
    assert float(cache.latents.std()) == pytest.approx(1.0, abs=1e-4)
    again = train.encode_pictures(vae, config, torch.Generator().manual_seed(0), chunk=16)
    assert again.captions == cache.captions and torch.equal(again.latents, cache.latents)


def test_min_snr_weights_favour_the_noisy_steps():
    weights = train.min_snr_weights(models.training_scheduler(), gamma=5.0)
    assert weights.shape == (1000,)
    assert float(weights[0]) < 0.01  # almost clean: the loss is easy, and weighted down
    assert torch.all(weights[-300:] == 1.0)  # noisier than SNR 5: full weight
    assert all(a <= b for a, b in itertools.pairwise(weights.tolist()))
