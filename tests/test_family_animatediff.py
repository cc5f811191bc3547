"""The AnimateDiff family on the tiny pipelines: windows of frames travel between key frames,
frames depend only on the settings and their index, and the run lifecycle keeps working."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import gif_frames, gradient, pixels, solid, spy_calls, write_video
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.cli import main
from giffusion_nb.errors import SettingsError
from giffusion_nb.output.writers import frame_path
from giffusion_nb.pipelines.families import animatediff, family_of
from giffusion_nb.pipelines.families.windows import video_windows
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.render.conditioning import key_frame_latents
from giffusion_nb.render.prepare import prepare_job
from giffusion_nb.render.renderer import call_groups
from giffusion_nb.render.slerp import slerp
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.settings import Settings

TINY = {
    "model_id": "builtin:tiny-animatediff",
    "pipeline_class": "AnimateDiffPipeline",
    "num_inference_steps": 2,
    "height": 64,
    "width": 64,
    "guidance_scale": 7.5,
    "seed": 0,
}
PROMPTS = "0: a red fox\n7: a blue whale"  # 8 frames
ONE_CALL = {"prompts": PROMPTS, "video_window": 8}
WINDOWED = {"prompts": PROMPTS, "video_window": 4, "video_overlap": 2}  # 4 calls of 4 frames


@pytest.fixture(scope="module")
def pipe():
    return load_pipeline("builtin:tiny-animatediff", "AnimateDiffPipeline", device="cpu")


@pytest.fixture
def session(pipe, tmp_path):
    def make(pipeline=None, **values) -> RenderSession:
        return RenderSession(
            output_dir=tmp_path / "outputs",
            device="cpu",
            pipeline=pipeline or pipe,
            **{**TINY, **values},
        )

    return make


def frames_of(session: RenderSession, frames=None) -> np.ndarray:
    return np.stack([pixels(frame.image) for frame in session.render_frames(frames)])


@pytest.fixture(scope="module")
def reference(pipe, tmp_path_factory):
    """The 8 frames of one call."""
    session = RenderSession(
        output_dir=tmp_path_factory.mktemp("one-call"),
        device="cpu",
        pipeline=pipe,
        **{**TINY, **ONE_CALL},
    )
    return frames_of(session)


@pytest.fixture(scope="module")
def windowed_run(pipe, tmp_path_factory):
    """A run of the same 8 frames in 4 overlapping windows: its folder and frames."""
    session = RenderSession(
        output_dir=tmp_path_factory.mktemp("windowed"),
        device="cpu",
        pipeline=pipe,
        **{**TINY, **WINDOWED},
    )
    run_dir = session.render().parent
    return run_dir, np.stack([pixels(Image.open(frame_path(run_dir, i))) for i in range(8)])


def distances_from_first(frames: np.ndarray) -> np.ndarray:
    return np.abs(frames - frames[0]).mean(axis=(1, 2, 3))


def rank_correlation(values: np.ndarray) -> float:
    """Spearman's rank correlation of ``values`` with their position."""
    ranks = np.argsort(np.argsort(values))
    return float(np.corrcoef(ranks, np.arange(len(values)))[0, 1])


# --- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_frames", "size", "overlap"),
    [(8, 4, 2), (30, 16, 4), (17, 16, 4), (16, 16, 4), (5, 16, 4), (9, 3, 0), (40, 24, 7)],
)
def test_windows_keep_every_frame_once_with_full_calls(num_frames, size, overlap):
    windows = video_windows(num_frames, size, overlap)
    kept = [frame for window in windows for frame in window.keep]
    assert kept == list(range(num_frames))
    for window in windows:
        assert len(window.frames) == min(size, num_frames)
        assert window.keep.start >= window.start and window.keep.stop <= window.end
    for before, after in itertools.pairwise(windows):
        assert before.end - after.start >= min(overlap, len(before.frames))


def test_windows_examples():
    windows = video_windows(8, 4, 2)
    assert [(w.start, w.end, list(w.keep)) for w in windows] == [
        (0, 4, [0, 1]),
        (1, 5, [2, 3]),
        (3, 7, [4, 5]),
        (4, 8, [6, 7]),
    ]
    assert [(w.start, w.end) for w in video_windows(100, 0, 4)] == [(0, 100)]


# --- travel --------------------------------------------------------------------------------


def test_one_call_gets_each_frames_travelled_noise_and_embeddings(session, pipe, monkeypatch):
    render = session(prompts="0: a red fox\n3: a blue whale", seed=3, num_inference_steps=1)
    calls = spy_calls(monkeypatch, pipe)
    seen = []
    hook = pipe.unet.register_forward_pre_hook(
        lambda _module, _args, kwargs: seen.append(kwargs["encoder_hidden_states"]),
        with_kwargs=True,
    )
    try:
        assert len(frames_of(render)) == 4
    finally:
        hook.remove()
    (call,) = calls
    t = torch.tensor([0.0, 1 / 3, 2 / 3, 1.0])
    noise = key_frame_latents([3, 6], (4, 8, 8), torch.device("cpu"), torch.float32)
    expected = slerp(t, noise[:1].expand(4, -1, -1, -1), noise[1:].expand(4, -1, -1, -1))
    torch.testing.assert_close(call["latents"], expected.transpose(0, 1).unsqueeze(0))
    encoded = family_of(pipe).encode_prompts(
        pipe, ["a red fox", "a blue whale"], ["", ""], torch.device("cpu")
    )
    embeds = encoded["prompt_embeds"]
    travelled = slerp(t, embeds[:1].expand(4, -1, -1), embeds[1:].expand(4, -1, -1))
    (hidden,) = seen  # [negative] * 4 + [positive] * 4, one row a frame
    torch.testing.assert_close(hidden[4:], travelled)
    negative = encoded["negative_prompt_embeds"][:1]
    torch.testing.assert_close(hidden[:4], negative.expand(4, -1, -1))


def test_frames_travel_away_from_the_first_key_frame(reference, windowed_run):
    for frames in (reference, windowed_run[1]):
        distance = distances_from_first(frames)
        assert rank_correlation(distance) > 0.9
        assert distance[-1] > 3 * distance[1] > 0


def test_a_fixed_latent_still_travels_through_the_embeddings(session):
    distance = distances_from_first(frames_of(session(**ONE_CALL, use_fixed_latent=True)))
    assert rank_correlation(distance) > 0.9
    assert distance[-1] > 3 * distance[1] > 0


def test_text_prompts_hold_each_key_frames_text(session, reference):
    text = frames_of(session(**ONE_CALL, use_prompt_embeds=False))
    assert text.shape == reference.shape
    # the noise travels; the prompt stays "a red fox" until frame 7 instead of travelling
    assert rank_correlation(distances_from_first(text)) > 0.9
    assert np.abs(text[1:7] - reference[1:7]).mean() > 1


def test_a_negative_prompt_changes_the_frames(session, reference):
    negative = frames_of(session(**ONE_CALL, negative_prompt="snow"))
    assert np.abs(negative - reference).mean() > 1


def test_key_frame_negative_prompts_reach_the_call(session, pipe, reference, monkeypatch):
    """Text prompts: each key frame's negative from its frame on; embeddings: travelled."""
    prompts = "0: a red fox\n4: a cat --neg snow\n7: a blue whale"
    calls = spy_calls(monkeypatch, pipe)
    text = frames_of(session(video_window=8, prompts=prompts, use_prompt_embeds=False))
    (call,) = calls
    assert call["prompt"] == {0: "a red fox", 4: "a cat", 7: "a blue whale"}
    assert call["negative_prompt"] == {0: "", 4: "snow", 7: ""}
    plain = frames_of(session(video_window=8, prompts=prompts.replace(" --neg snow", "")))
    travelled = frames_of(session(video_window=8, prompts=prompts))
    assert np.abs(travelled - plain).mean() > 1
    assert np.abs(text - travelled).mean() > 1


def test_a_call_longer_than_the_motion_context_slides_freenoise_over_it(
    session, reference, monkeypatch
):
    monkeypatch.setattr(animatediff, "MOTION_CONTEXT", 4)
    monkeypatch.setattr(animatediff, "CONTEXT_STRIDE", 2)
    sliding = frames_of(session(**ONE_CALL))
    assert rank_correlation(distances_from_first(sliding)) > 0.9
    assert np.abs(sliding - reference).mean() > 0.5


# --- frames depend only on the settings and their index -----------------------------------


def test_batch_size_is_not_used_one_window_a_call(session, reference):
    np.testing.assert_allclose(frames_of(session(**ONE_CALL, batch_size=2)), reference, atol=1.0)


def test_the_same_settings_give_the_same_frames(session):
    short = {"prompts": "0: a red fox\n3: a blue whale", "num_inference_steps": 1}
    np.testing.assert_array_equal(frames_of(session(**short)), frames_of(session(**short)))


def test_a_frame_alone_is_its_frame_of_the_whole_render(session, windowed_run, pipe, monkeypatch):
    calls = spy_calls(monkeypatch, pipe)
    (alone,) = frames_of(session(**WINDOWED), [5])
    np.testing.assert_allclose(alone, windowed_run[1][5], atol=1.0)
    assert [call["num_frames"] for call in calls] == [4]  # only the window keeping frame 5


def test_resume_renders_the_windows_of_missing_frames(
    session, windowed_run, pipe, monkeypatch, tmp_path
):
    run_dir = Path(shutil.copytree(windowed_run[0], tmp_path / "run"))
    for index in (3, 6):
        frame_path(run_dir, index).unlink()
    calls = spy_calls(monkeypatch, pipe)
    resumed = session().render(resume=run_dir)
    assert len(calls) == 2  # the windows keeping frames 3 and 6
    assert len(gif_frames(resumed)) == 8
    for index in range(8):
        image = pixels(Image.open(frame_path(run_dir, index)))
        np.testing.assert_allclose(image, windowed_run[1][index], atol=1.0)


def test_stop_keeps_the_windows_done(session):
    render = session(**WINDOWED)
    render.observe(lambda change: render.stop() if change["new"] == 2 else None, "frames_done")
    output = render.render()
    assert render.status == "stopped"
    assert len(gif_frames(output)) == 2
    assert sorted(path.name for path in (output.parent / "frames").iterdir()) == [
        "0000.png",
        "0001.png",
    ]


def test_each_call_is_a_whole_window_which_ray_hands_out_whole(pipe):
    spec = RenderSpec.from_settings(Settings(**TINY, **WINDOWED, batch_size=3))
    job = prepare_job(spec, pipe, torch.device("cpu"))
    assert call_groups(job, None) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert call_groups(job, [3, 4, 5, 6]) == [[3], [4, 5], [6]]


def test_the_pipeline_is_given_back_as_it_was(session, pipe):
    def direct() -> np.ndarray:
        output = pipe(
            prompt="a red fox",
            num_frames=3,
            num_inference_steps=1,
            height=64,
            width=64,
            generator=torch.Generator().manual_seed(0),
            output_type="np",
        )
        return output.frames

    before = direct()
    frames_of(session(prompts="0: a red fox\n2: a blue whale", num_inference_steps=1))
    assert not pipe.free_noise_enabled
    blocks = pipe.unet.down_blocks[0].motion_modules[0].transformer_blocks
    assert type(blocks[0]).__name__ == "BasicTransformerBlock"
    np.testing.assert_array_equal(direct(), before)


# --- inputs --------------------------------------------------------------------------------


def test_video_to_video_uses_the_input_and_the_key_frame_noise(session, tmp_path):
    video = write_video(tmp_path / "input.mp4", 4)
    image = tmp_path / "gradient.png"
    gradient(0).save(image)
    short = {"prompts": "0: a red fox\n3: a blue whale", "strength": 0.9}
    from_video = frames_of(session(**short, video_input=str(video)))
    other_seed = frames_of(session(**short, video_input=str(video), seed=1))
    from_image = frames_of(session(**short, image_input=str(image)))
    assert from_video.shape == (4, 64, 64, 3)
    assert np.abs(from_video - other_seed).mean() > 1
    assert np.abs(from_video - from_image).mean() > 1


def test_overlapping_windows_read_an_input_video_once(session, tmp_path, monkeypatch):
    from giffusion_nb.media.video import VideoFrames

    starts = []
    restart = VideoFrames._restart
    monkeypatch.setattr(VideoFrames, "_restart", lambda self: starts.append(1) or restart(self))
    video = write_video(tmp_path / "input.mp4", 8)
    render = session(**WINDOWED, video_input=str(video), strength=0.5)
    assert len(frames_of(render)) == 8
    assert len(starts) == 1  # windows [0, 4), [1, 5), [3, 7), [4, 8): never back to frame 0


def test_a_controlnet_takes_the_window_as_conditioning_frames(session, tmp_path):
    controlled = load_pipeline(
        "builtin:tiny-animatediff",
        "AnimateDiffPipeline",
        ("builtin:tiny-controlnet",),
        device="cpu",
    )
    assert type(controlled).__name__ == "AnimateDiffControlNetPipeline"
    frames = {}
    for name, image in (("gradient", gradient(0)), ("flat", solid((40, 60, 220)))):
        image.save(tmp_path / f"{name}.png")
        render = session(controlled, prompts="0: a red fox\n3: a blue whale")
        render.settings.image_input = str(tmp_path / f"{name}.png")
        frames[name] = frames_of(render)
    assert np.abs(frames["gradient"] - frames["flat"]).mean() > 0.1


# --- what AnimateDiff refuses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"zoom": "0: (1.05)"}, "zoom", "2D motion"),
        ({"translate_x": "0: (2)"}, "translate_x", "2D motion"),
        ({"perspective_flip_gamma": "0: (3)"}, "perspective_flip_gamma", "perspective flip"),
        ({"prompts": "0: a red fox"}, "prompts", "key frame after frame 0"),
        ({"pipeline_kwargs": {"num_frames": 8}}, "pipeline_kwargs", "num_frames"),
        ({"pacing": "even"}, "pacing", "use pacing schedule"),
        ({"video_window": 1}, "video_window", "between 2"),
        ({"video_window": 4, "video_overlap": 4}, "video_overlap", "smaller than video_window"),
    ],
)
def test_what_animatediff_cannot_render_is_a_settings_error(session, values, field, words):
    with pytest.raises(SettingsError, match=words) as info:
        list(session(**{"prompts": PROMPTS, **values}).render_frames())
    assert info.value.field == field


def test_a_strength_that_changes_within_a_window_is_refused(session, tmp_path):
    video = write_video(tmp_path / "input.mp4", 8)
    render = session(prompts=PROMPTS, video_input=str(video), strength="0: (0.3), 7: (0.8)")
    with pytest.raises(SettingsError, match="one strength") as info:
        list(render.render_frames())
    assert info.value.field == "strength"


def test_a_strength_that_leaves_no_step_is_refused(session, tmp_path):
    video = write_video(tmp_path / "input.mp4", 8)
    render = session(prompts=PROMPTS, video_input=str(video), strength=0.4)
    with pytest.raises(SettingsError, match="no step") as info:
        list(render.render_frames())  # int(2 steps * 0.4) = 0
    assert info.value.field == "strength"


def test_the_cli_turns_tiny_sd_into_animatediff_with_a_motion_adapter(tmp_path, capsys):
    settings = [
        "model_id=builtin:tiny-sd",
        "pipeline_class=AnimateDiffPipeline",
        "motion_adapter_id=builtin:tiny-motion-adapter",
        "prompts=0: a red fox\n3: a blue whale",
        "num_inference_steps=2",
        "height=64",
        "width=64",
    ]
    arguments = ["render", "--quiet", "--output-dir", str(tmp_path)]
    for value in settings:
        arguments += ["--set", value]
    code = main(arguments)
    out, err = capsys.readouterr()
    assert code == 0, err
    frames = gif_frames(Path(out.strip().splitlines()[-1]))
    assert len(frames) == 4 and frames[0].size == (64, 64)
    assert np.abs(pixels(frames[3]) - pixels(frames[0])).mean() > 1
