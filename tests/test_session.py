"""The render session on builtin:tiny-sd at 64 px: travel maths, batch invariance, outputs."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from helpers import pixels, spy_calls
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.render.conditioning import key_frame_latents
from giffusion_nb.render.slerp import slerp

PROMPTS = "0: a red circle\n4: a blue square\n6: a green star"


def test_key_frame_equals_the_pipeline_rendering_its_prompt(make_session, tiny_pipe):
    session = make_session(prompts=PROMPTS, seed=7)
    frames = {frame.index: frame.image for frame in session.render_frames([0, 4, 6])}
    for key_frame, prompt in ((0, "a red circle"), (4, "a blue square"), (6, "a green star")):
        latent = key_frame_latents([7 + key_frame], (4, 8, 8), torch.device("cpu"), torch.float32)
        reference = tiny_pipe(
            prompt=prompt,
            latents=latent,
            num_inference_steps=2,
            guidance_scale=3.0,
            height=64,
            width=64,
            generator=torch.Generator().manual_seed(7),
        ).images[0]
        np.testing.assert_allclose(pixels(frames[key_frame]), pixels(reference), atol=1.0)


def test_in_between_frame_is_the_slerp_of_its_key_frames(make_session, tiny_pipe, monkeypatch):
    session = make_session(prompts="0: a red circle\n4: a blue square", seed=3)
    calls = spy_calls(monkeypatch, session.pipeline)
    list(session.render_frames([1]))
    (call,) = calls
    latents = key_frame_latents([3, 7], (4, 8, 8), torch.device("cpu"), torch.float32)
    expected_latent = slerp(0.25, latents[0], latents[1])
    torch.testing.assert_close(call["latents"][0], expected_latent)
    encoded = family_of(tiny_pipe).encode_prompts(
        tiny_pipe, ["a red circle", "a blue square"], ["", ""], torch.device("cpu")
    )
    expected_embed = slerp(0.25, encoded["prompt_embeds"][0], encoded["prompt_embeds"][1])
    torch.testing.assert_close(call["prompt_embeds"][0], expected_embed)
    torch.testing.assert_close(
        call["negative_prompt_embeds"][0], encoded["negative_prompt_embeds"][0]
    )


def test_batch_size_does_not_change_frames(make_session):
    one = [f.image for f in make_session(prompts=PROMPTS, batch_size=1).render_frames()]
    three = [f.image for f in make_session(prompts=PROMPTS, batch_size=3).render_frames()]
    assert len(one) == len(three) == 7  # last key frame + 1, last partial batch included
    for a, b in zip(one, three, strict=True):
        np.testing.assert_allclose(pixels(a), pixels(b), atol=2.0)


def test_same_settings_same_frames_and_other_seed_differs(make_session):
    a = [f.image for f in make_session(prompts=PROMPTS, seed=1).render_frames([2])]
    b = [f.image for f in make_session(prompts=PROMPTS, seed=1).render_frames([2])]
    c = [f.image for f in make_session(prompts=PROMPTS, seed=2).render_frames([2])]
    assert np.array_equal(pixels(a[0]), pixels(b[0]))
    assert not np.array_equal(pixels(a[0]), pixels(c[0]))


def test_fixed_latent_uses_one_latent_for_every_key_frame(make_session, monkeypatch):
    session = make_session(prompts="0: a red circle\n4: a blue square", use_fixed_latent=True)
    calls = spy_calls(monkeypatch, session.pipeline)
    list(session.render_frames([0, 4]))
    torch.testing.assert_close(calls[0]["latents"][0], calls[1]["latents"][0])


def test_text_prompts_are_forward_filled_without_prompt_embeds(make_session, monkeypatch):
    session = make_session(prompts=PROMPTS, use_prompt_embeds=False, negative_prompt="blurry")
    calls = spy_calls(monkeypatch, session.pipeline)
    session.settings.batch_size = 7
    list(session.render_frames())
    assert calls[0]["prompt"] == ["a red circle"] * 4 + ["a blue square"] * 2 + ["a green star"]
    assert calls[0]["negative_prompt"] == ["blurry"] * 7
    assert "prompt_embeds" not in calls[0]


def test_render_writes_settings_frames_and_gif(make_session):
    session = make_session(prompts=PROMPTS, fps=5, batch_size=2)
    output = session.render()
    run_dir = output.parent
    assert json.loads((run_dir / "settings.json").read_text())["prompts"] == PROMPTS
    assert sorted(p.name for p in (run_dir / "frames").iterdir()) == [
        f"{i:04d}.png" for i in range(7)
    ]
    with Image.open(output) as gif:
        assert gif.n_frames == 7
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 200
    assert session.status == "done"
    assert session.frames_done == 7


def test_render_mp4(make_session):
    import imageio_ffmpeg

    output = make_session(prompts=PROMPTS, output_format="mp4", fps=12).render()
    reader = imageio_ffmpeg.read_frames(str(output))
    meta = next(reader)
    frames = list(reader)
    assert output.suffix == ".mp4"
    assert meta["fps"] == 12
    assert meta["size"] == (64, 64)
    assert len(frames) == 7


def test_stop_keeps_the_frames_done_and_writes_a_partial_gif(make_session):
    session = make_session(prompts="0: a red circle\n11: a blue square", batch_size=2)
    session.observe(lambda change: session.stop() if change["new"] == 4 else None, "frames_done")
    output = session.render()
    assert session.status == "stopped"
    with Image.open(output) as gif:
        assert gif.n_frames == 4
    assert len(list((output.parent / "frames").glob("*.png"))) == 4


def test_named_scheduler_with_options_is_used_and_restored(make_session, tiny_pipe, monkeypatch):
    original = tiny_pipe.scheduler
    session = make_session(
        prompts="0: a corgi",
        scheduler="Euler ancestral",
        scheduler_kwargs={"timestep_spacing": "trailing"},
    )
    used = []
    spy_calls(monkeypatch, tiny_pipe)
    session.observe(lambda change: None, "frames_done")
    step_end = session._on_step_end

    def record(pipe, step, timestep, tensors):
        used.append(pipe.scheduler)
        return step_end(pipe, step, timestep, tensors)

    monkeypatch.setattr(session, "_on_step_end", record)
    assert len(list(session.render_frames())) == 1
    assert {type(s).__name__ for s in used} == {"EulerAncestralDiscreteScheduler"}
    assert used[0].config.timestep_spacing == "trailing"
    assert tiny_pipe.scheduler is original


def test_unknown_pipeline_argument_is_a_user_error(make_session):
    session = make_session(prompts="0: a corgi", pipeline_kwargs={"not_an_argument": 1})
    with pytest.raises(SettingsError) as info:
        list(session.render_frames())
    assert info.value.field == "pipeline_kwargs"
    assert "not_an_argument" in str(info.value)


def test_pipeline_kwargs_reach_the_pipeline(make_session, monkeypatch):
    session = make_session(prompts="0: a corgi", pipeline_kwargs={"guidance_rescale": 0.5})
    calls = spy_calls(monkeypatch, session.pipeline)
    list(session.render_frames())
    assert calls[0]["guidance_rescale"] == 0.5


def test_negative_prompt_without_guidance_is_refused(make_session):
    session = make_session(prompts="0: a corgi", negative_prompt="blurry", guidance_scale=1.0)
    with pytest.raises(SettingsError, match="guidance_scale") as info:
        list(session.render_frames())
    assert info.value.field == "negative_prompt"


def test_size_must_fit_the_vae(make_session):
    session = make_session(prompts="0: a corgi", height=60)
    with pytest.raises(SettingsError, match="divisible by 8") as info:
        session.plan()
    assert info.value.field == "height"


def test_latent_channels_must_match_the_unet(make_session):
    session = make_session(prompts="0: a corgi", num_latent_channels=3)
    with pytest.raises(SettingsError, match="4 latent channels") as info:
        list(session.render_frames())
    assert info.value.field == "num_latent_channels"


def test_out_of_memory_halves_the_batch_and_goes_on(make_session, monkeypatch):
    session = make_session(prompts="0: a red circle\n6: a blue square", batch_size=4)
    reference = [f.image for f in make_session(prompts=session.settings.prompts).render_frames()]
    pipe = session.pipeline
    original = type(pipe).__call__
    sizes = []

    @functools.wraps(original)
    def small_gpu(self, **kwargs):
        sizes.append(len(kwargs["latents"]))
        if len(kwargs["latents"]) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return original(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", small_gpu)
    frames = list(session.render_frames())
    assert sizes == [4, 2] + [1] * 7
    assert "going on at 1" in session.message
    for a, b in zip(frames, reference, strict=True):
        np.testing.assert_allclose(pixels(a.image), pixels(b), atol=2.0)


def test_out_of_memory_at_batch_size_one_says_what_to_do(make_session, monkeypatch):
    session = make_session(prompts="0: a red circle\n2: a blue square", batch_size=2)

    def no_memory(self, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")

    monkeypatch.setattr(
        type(session.pipeline),
        "__call__",
        functools.wraps(type(session.pipeline).__call__)(no_memory),
    )
    with pytest.raises(SettingsError, match="smaller frames") as info:
        list(session.render_frames())
    assert info.value.field == "batch_size"
