"""Audio in renders: a zoom that follows the onsets (frames measured), and a muxed MP4 that
lasts as long as its audio."""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile
from helpers import pixels, spy_calls, write_clicks
from PIL import Image

from giffusion_nb.frame_rate import frames_covering
from giffusion_nb.media.motion import MotionStep, warp
from giffusion_nb.output.encoders import open_output

CLICK_FRAMES = (3, 7)


def _measured_zoom(before: Image.Image, after: Image.Image) -> float:
    """The zoom that turns ``before`` into ``after`` best (1.0: unchanged, exactly)."""
    if np.array_equal(pixels(before), pixels(after)):
        return 1.0
    candidates = np.round(np.arange(1.0, 1.2, 0.002), 3)
    errors = [
        np.abs(pixels(warp(before, MotionStep(zoom=float(zoom)))) - pixels(after)).mean()
        for zoom in candidates
    ]
    return float(candidates[int(np.argmin(errors))])


def test_a_zoom_on_the_onsets_zooms_on_the_click_frames_and_not_between(
    make_session, monkeypatch, tmp_path
):
    fps = 10
    clicks = write_clicks(tmp_path / "clicks.wav", [frame / fps for frame in CLICK_FRAMES], 1.0)
    session = make_session(
        prompts="0: a corgi\n9: a lion",
        audio_input=str(clicks),
        fps=fps,
        zoom="0: (1.0 + 0.1*onset)",
        strength=0.6,
    )
    spec = session.spec()
    assert np.flatnonzero(spec.motion.zoom != 1.0).tolist() == list(CLICK_FRAMES)
    image_calls = spy_calls(monkeypatch, session.pipeline_for("image"))
    frames = [frame.image for frame in session.render_frames()]
    assert len(frames) == 10 and len(image_calls) == 9  # frame 0 from noise, then feedback
    measured = [
        _measured_zoom(frames[index - 1], image_calls[index - 1]["image"][0])
        for index in range(1, 10)
    ]
    for index, zoom in enumerate(measured, start=1):
        if index in CLICK_FRAMES:
            assert zoom > 1.04 and zoom == pytest.approx(spec.motion.zoom[index], abs=0.003)
        else:
            assert zoom == 1.0, (index, measured)


def test_a_muxed_mp4_of_a_60_second_track_lasts_60_seconds_within_a_frame(tmp_path):
    fps = Fraction(30000, 1001)
    rate = 8000
    seconds = np.arange(60 * rate) / rate
    audio = tmp_path / "minute.wav"
    soundfile.write(audio, 0.2 * np.sin(2 * np.pi * 220 * seconds), rate)
    count = frames_covering(60.0, fps)  # 1799 frames: the last starts before the audio ends
    encoder = open_output(tmp_path / "minute.mp4", "mp4", float(fps), audio)
    for index in range(count):
        encoder.append(Image.new("RGB", (16, 16), (index % 256, 0, 0)))
    output = encoder.close()
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(output)], capture_output=True, text=True
    ).stderr
    hours, minutes, secs = re.search(r"Duration: (\d+):(\d+):([\d.]+)", probe).groups()
    duration = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    assert abs(duration - 60.0) <= 1 / float(fps), probe
    assert "30k tbr" in probe or "29.97 fps" in probe
    frames, video_seconds = imageio_ffmpeg.count_frames_and_secs(str(output))
    assert frames == count and abs(video_seconds - 60.0) <= 1 / float(fps)


def test_frames_past_the_audio_are_kept_with_silence(tmp_path):
    rate = 8000
    audio = tmp_path / "short.wav"
    soundfile.write(audio, 0.2 * np.sin(np.arange(3 * rate) / rate * 2 * np.pi * 220), rate)
    encoder = open_output(tmp_path / "long.mp4", "mp4", 10.0, audio)
    for index in range(50):  # 5 s of frames over 3 s of audio
        encoder.append(Image.new("RGB", (16, 16), (index * 5, 0, 0)))
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(encoder.close()))
    assert frames == 50 and seconds == pytest.approx(5.0, abs=0.1)
