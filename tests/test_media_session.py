"""Media inputs through the render session on builtin:tiny-sd: image, video, audio, ControlNet,
2D motion, and sending output back as input."""

from __future__ import annotations

import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from helpers import colour_of, pixels, solid, spy_calls, write_clicks, write_video
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio import AudioSchedule
from giffusion_nb.media.motion import MotionStep, warp
from giffusion_nb.pipelines.load import load_pipeline


@pytest.fixture
def picture(tmp_path):
    """A 70x50 image: frames from it are cropped to 64x48."""
    image = Image.new("RGB", (70, 50), (200, 40, 40))
    image.paste((30, 30, 220), (35, 0, 70, 50))
    path = tmp_path / "picture.png"
    image.save(path)
    return path


def test_image_input_uses_image_to_image_sized_from_the_image(make_session, picture, monkeypatch):
    session = make_session(
        prompts="0: a red circle\n3: a blue square",
        image_input=str(picture),
        height=None,
        width=None,
        strength="0: (0.4), 3: (0.9)",
        batch_size=4,
    )
    image_pipe = session.pipeline_for("image")
    calls = spy_calls(monkeypatch, image_pipe)
    frames = list(session.render_frames())
    assert type(image_pipe).__name__ == "StableDiffusionImg2ImgPipeline"
    assert image_pipe.unet is session.pipeline.unet  # weights shared, not reloaded
    assert [frame.image.size for frame in frames] == [(64, 48)] * 4
    # strength changes every frame, so each frame is its own call, with its own strength
    assert [call["strength"] for call in calls] == pytest.approx(
        [0.4, 0.4 + 0.5 / 3, 0.4 + 1.0 / 3, 0.9]
    )
    init = calls[0]["image"][0]
    assert init.size == (64, 48)
    assert pixels(init)[0, 0].tolist() == [200, 40, 40]


def test_video_frame_i_is_the_init_image_of_output_frame_i(make_session, tmp_path, monkeypatch):
    video = write_video(tmp_path / "input.mp4", num_frames=8, size=(64, 48), fps=8)
    session = make_session(
        prompts="0: a corgi\n5: a lion",
        video_input=str(video),
        batch_size=4,
        strength=0.5,
        height=None,
        width=None,
    )
    image_pipe = session.pipeline_for("image")
    calls = spy_calls(monkeypatch, image_pipe)
    frames = list(session.render_frames())
    inits = [image for call in calls for image in call["image"]]
    assert len(frames) == len(inits) == 6
    for index, init in enumerate(inits):
        assert init.size == (64, 48)
        assert np.abs(pixels(init).mean(axis=(0, 1)) - colour_of(index)).max() < 8


def test_video_shorter_than_the_prompts_is_a_user_error(make_session, tmp_path):
    video = write_video(tmp_path / "short.mp4", num_frames=3)
    session = make_session(prompts="0: a corgi\n5: a lion", video_input=str(video))
    with pytest.raises(SettingsError, match="has 3 frames but the prompts ask for 6") as info:
        list(session.render_frames())
    assert info.value.field == "video_input"


def test_video_key_frame_information_sets_fps(make_session, tmp_path):
    video = write_video(tmp_path / "input.mp4", num_frames=12, fps=6)
    session = make_session(video_input=str(video), fps=10)
    info = session.video_key_frame_info()
    assert (info.num_frames, info.fps) == (12, 6.0)
    assert session.settings.fps == 6.0


def test_audio_key_frames_follow_the_fps(make_session, tmp_path):
    wav = write_clicks(tmp_path / "clicks.wav", [0.55, 1.3], duration=2.0)
    session = make_session(audio_input=str(wav), fps=10)
    lines = session.audio_key_frame_text().splitlines()
    frames = [int(line.split(":")[0]) for line in lines]
    assert frames[0] == 0 and frames[-1] == 19
    assert any(abs(f - 5.5) <= 1 for f in frames[1:-1]) and any(abs(f - 13) <= 1 for f in frames)
    session.settings.fps = 20
    frames_20 = [int(line.split(":")[0]) for line in session.audio_key_frame_text().splitlines()]
    assert frames_20[-1] == 39
    assert any(abs(f - 26) <= 1 for f in frames_20)


def test_audio_drives_the_interpolation_and_is_muxed_into_the_mp4(make_session, tmp_path):
    wav = write_clicks(tmp_path / "clicks.wav", [0.35, 0.9], duration=3.0)
    session = make_session(
        prompts="0: a corgi\n6: a lion\n11: a fox",
        audio_input=str(wav),
        interpolation_type="audio",
        output_format="mp4",
        fps=10,
        batch_size=4,
    )
    plan = session.plan()
    schedule = AudioSchedule(wav, 10)
    expected = np.concatenate([schedule(0, 6)[:-1], schedule(6, 11)[:-1], [0.0]])
    assert [step.t for step in plan.steps] == pytest.approx(expected.tolist())
    output = session.render()
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(output)], capture_output=True, text=True
    ).stderr
    assert "Audio:" in probe
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", probe)
    seconds = int(duration[2]) * 60 + float(duration[3])
    assert seconds == pytest.approx(12 / 10, abs=0.15)  # the video's length, not the audio's 3 s


def test_two_dimensional_motion_feeds_the_warped_frame_forward(make_session, monkeypatch):
    session = make_session(
        prompts="0: a corgi\n3: a lion", translate_x="0: (4)", zoom="0: (1.1)", strength=0.6
    )
    text_calls = spy_calls(monkeypatch, session.pipeline)
    image_pipe = session.pipeline_for("image")
    image_calls = spy_calls(monkeypatch, image_pipe)
    frames = [frame.image for frame in session.render_frames()]
    assert len(text_calls) == 1 and len(image_calls) == 3  # frame 0 from noise, then feedback
    for index in range(1, 4):
        expected = warp(frames[index - 1], MotionStep(zoom=1.1, translate_x=4.0), "border")
        received = image_calls[index - 1]["image"][0]
        assert np.array_equal(pixels(received), pixels(expected))
        assert image_calls[index - 1]["strength"] == pytest.approx(0.6)


def test_send_output_frames_back_as_input(make_session):
    for output_format in ("gif", "mp4"):
        session = make_session(prompts="0: a corgi\n4: a lion", output_format=output_format)
        output = session.render()
        path = session.use_output_frame(3)
        assert session.settings.image_input == str(path)
        sent = pixels(Image.open(path))
        errors = [
            np.abs(sent - pixels(Image.open(output.parent / "frames" / f"{i:04d}.png"))).mean()
            for i in range(5)
        ]
        # noisy tiny-model frames are the palette's worst case: close, and closest to frame 3
        assert errors[3] < 16 and errors[3] == min(errors), (output_format, errors)
    video = session.use_output_as_video()
    assert session.settings.video_input == str(video) and session.settings.image_input == ""


def test_gif_output_becomes_an_mp4_video_input(make_session):
    session = make_session(prompts="0: a corgi\n4: a lion")
    session.render()
    video = session.use_output_as_video()
    assert video.suffix == ".mp4"
    info = session.video_key_frame_info()
    assert info.num_frames == 5


@pytest.fixture(scope="module")
def controlnet_dirs(tiny_pipe, tmp_path_factory):
    """Two tiny ControlNets made from the tiny UNet, saved like Hub checkpoints."""
    from diffusers import ControlNetModel

    dirs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = ControlNetModel.from_unet(
            tiny_pipe.unet, conditioning_embedding_out_channels=(8, 8, 16, 16)
        )
        path = tmp_path_factory.mktemp(f"controlnet{seed}")
        model.save_pretrained(path)
        dirs.append(str(path))
    return dirs


def test_controlnet_receives_the_image_input_as_conditioning(
    make_session, controlnet_dirs, picture, monkeypatch
):
    pipe = load_pipeline("builtin:tiny-sd", controlnet_ids=controlnet_dirs[:1], device="cpu")
    assert type(pipe).__name__ == "StableDiffusionControlNetPipeline"
    session = make_session(
        prompts="0: a corgi\n2: a lion", image_input=str(picture), height=None, width=None
    )
    session.settings.controlnet_ids = controlnet_dirs[:1]
    session.use_pipeline(pipe)
    calls = spy_calls(monkeypatch, pipe)
    frames = list(session.render_frames())
    assert len(frames) == 3 and "latents" in calls[0]
    conditioning = calls[0]["image"][0]
    assert conditioning.size == (64, 48) and pixels(conditioning)[0, 0].tolist() == [200, 40, 40]


def test_several_controlnets_work_together(make_session, controlnet_dirs, tmp_path, monkeypatch):
    pipe = load_pipeline("builtin:tiny-sd", controlnet_ids=",".join(controlnet_dirs), device="cpu")
    video = write_video(tmp_path / "input.mp4", num_frames=3)
    session = make_session(prompts="0: a corgi\n2: a lion", video_input=str(video), batch_size=3)
    session.settings.controlnet_ids = controlnet_dirs
    session.use_pipeline(pipe)
    calls = spy_calls(monkeypatch, pipe)
    assert len(list(session.render_frames())) == 3
    per_frame = calls[0]["image"]
    assert len(per_frame) == 3 and all(len(images) == 2 for images in per_frame)
    assert np.abs(pixels(per_frame[2][1]).mean(axis=(0, 1)) - colour_of(2)).max() < 8


def test_solid_helper_is_exact():
    assert pixels(solid((1, 2, 3)))[5, 5].tolist() == [1, 2, 3]
