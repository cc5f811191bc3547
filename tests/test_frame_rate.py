"""Exact frame rates (giffusion_nb.frame_rate): frame k at exactly k / fps seconds, 29.97 as
30000/1001, and every reader of the fps setting."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import (
    frame_at,
    frame_rate,
    frame_times,
    frames_covering,
)
from giffusion_nb.keyframes.audio_terms import AudioTerm, FrameFeatures
from giffusion_nb.media.audio import key_frames_at
from giffusion_nb.output.gif_format import frame_delay_cs, frame_end_cs
from giffusion_nb.settings import Settings

NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize(
    ("fps", "rate"),
    [
        (24, Fraction(24)),
        (12.5, Fraction(25, 2)),
        (29.97, NTSC),
        (30000 / 1001, NTSC),
        (23.976, Fraction(24000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (10 / 3, Fraction(10, 3)),
        (7.3, Fraction(73, 10)),
        (NTSC, NTSC),
    ],
)
def test_rates_read_exactly(fps, rate):
    assert frame_rate(fps) == rate


@pytest.mark.parametrize("fps", [0, -1, math.nan, math.inf, "29.97", None, True, Fraction(-1)])
def test_a_rate_that_is_no_positive_number_is_an_error_on_fps(fps):
    with pytest.raises(SettingsError) as info:
        frame_rate(fps)
    assert info.value.field == "fps"


def test_a_10_minute_plan_at_29_97_places_frame_17982_exactly():
    frame = 17982
    exact = Fraction(frame * 1001, 30000)
    for fps in (29.97, "30000/1001"):
        settings = Settings(fps=fps)
        assert frame / frame_rate(settings.fps) == exact
        times = frame_times(frames_covering(600.0, settings.fps), settings.fps)
        assert times.size == 17982 + 1  # 600 s at 29.97 fps: frames 0..17982
        assert times[frame] == float(exact)  # one division, nothing summed
        assert frame_at(float(exact), settings.fps) == frame
    # an audio time becomes a key frame by one rounding: no drift however late
    keys = key_frames_at([float(exact), 599.5], 600.0, 29.97)
    assert [key.frame for key in keys] == [0, round(599.5 * 30000 / 1001), frame]
    # summing rounded frame durations (what drifts) would land elsewhere
    drifting = sum([round(1001 / 30000, 3)] * frame)
    assert abs(drifting - float(exact)) > 1 / 29.97


def test_features_are_read_at_each_frames_own_time():
    seen = []

    def raw(term: AudioTerm) -> np.ndarray:
        seen.append(term)
        return np.arange(20000, dtype=float)

    features = FrameFeatures(raw, NTSC)
    assert features.values(AudioTerm("amp"), np.array([17982.0]))[0] == 17982
    assert features.shifted(17980).values(AudioTerm("amp"), np.array([2.0]))[0] == 17982
    assert seen == [AudioTerm("amp")]


def test_the_setting_takes_fractions_and_round_trips_through_json(tmp_path):
    settings = Settings(fps="30000/1001")
    assert settings.fps == 30000 / 1001 and frame_rate(settings.fps) == NTSC
    path = settings.save(tmp_path / "settings.json")
    assert json.loads(path.read_text())["fps"] == 30000 / 1001
    assert frame_rate(Settings.load(path).fps) == NTSC
    assert Settings(fps=NTSC).fps == 30000 / 1001
    settings.update(fps=" 24000 / 1001 ")
    assert frame_rate(settings.fps) == Fraction(24000, 1001)


@pytest.mark.parametrize("text", ["1/0", "fast", "30000/", "1e999"])
def test_bad_rate_text_is_an_error_on_fps(text):
    with pytest.raises(SettingsError) as info:
        Settings(fps=text)
    assert info.value.field == "fps"


def test_gif_delays_keep_the_exact_rate():
    frames = 17983
    assert frame_end_cs(29.97, frames) == math.floor(Fraction(100 * frames) / NTSC + Fraction(1, 2))
    delays = [frame_delay_cs(29.97, index) for index in range(frames)]
    assert set(delays) == {3, 4}
    assert sum(delays) == round(100 * frames * 1001 / 30000)  # 60,000 cs: 600.0 s


def test_mp4_encoder_gives_ffmpeg_the_exact_rate(tmp_path, monkeypatch):
    import imageio_ffmpeg

    from giffusion_nb.output.encoders import Mp4Encoder

    calls = []

    def fake_write_frames(path, size, **kwargs):
        calls.append(kwargs)

        def generator():
            while True:
                yield

        return generator()

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", fake_write_frames)
    encoder = Mp4Encoder(tmp_path / "out.mp4", 29.97)
    encoder._start_ffmpeg((16, 16))
    assert calls[0]["input_params"] == ["-r", "30000/1001"]
    encoder.abort()
