"""Damaged audio inputs (issue 31): NaN or infinite samples are a clear error on
`audio_input` naming the file, before any analysis; a truncated MP3 is used as far as it
decodes, and the render says how much."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from giffusion_nb.cli import main
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import AudioTerm
from giffusion_nb.media.audio import AudioSchedule, audio_key_frames, onset_envelope
from giffusion_nb.media.audio_features import frame_features
from giffusion_nb.media.audio_file import decoded_audio

RATE = 22050


def _tone(seconds: float) -> np.ndarray:
    time = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 330 * time) * (1 + np.sin(2 * np.pi * 2 * time))).astype(
        np.float32
    )


@pytest.fixture
def nan_wav(tmp_path) -> Path:
    samples = _tone(3.0)
    samples[int(1.5 * RATE)] = np.nan
    samples[int(2.0 * RATE)] = np.inf
    path = tmp_path / "nan.wav"
    soundfile.write(path, samples, RATE, subtype="FLOAT")
    return path


@pytest.fixture
def no_analysis(monkeypatch):
    """Fail if the expensive analysis (HPSS, spectrograms) starts: errors come before it."""
    import giffusion_nb.media.audio_stream as stream

    def refuse(*args, **kwargs):
        pytest.fail("the audio was analysed before its samples were checked")

    monkeypatch.setattr(stream, "separate", refuse)
    monkeypatch.setattr(stream, "block_mel", refuse)


def _nan_error(call) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        call()
    error = info.value
    assert error.field == "audio_input"
    assert "nan.wav" in error.message and "not finite numbers (NaN or infinity)" in error.message
    assert "1.50 s" in error.message  # the first bad sample
    return error


def test_nan_samples_are_refused_before_any_analysis(nan_wav, no_analysis):
    _nan_error(lambda: decoded_audio(nan_wav))
    _nan_error(lambda: AudioSchedule(nan_wav, 10))
    _nan_error(lambda: audio_key_frames(nan_wav, 10))
    _nan_error(lambda: onset_envelope(nan_wav, 10))
    features = frame_features(nan_wav, 10)  # lazy: the error comes when a curve reads it
    _nan_error(lambda: features.values(AudioTerm("onset"), np.arange(3)))


def test_a_render_with_an_audio_schedule_on_nan_audio_is_an_error_on_audio_input(
    make_session, nan_wav, no_analysis
):
    session = make_session(
        prompts="0: a corgi\n9: a lion", audio_input=str(nan_wav), interpolation_type="audio"
    )
    _nan_error(session.render)
    assert not list((session.output_dir).glob("*/frames/*.png"))


def test_keyframes_audio_on_nan_audio_exits_2_with_the_error(nan_wav, capsys, no_analysis):
    assert main(["keyframes", "--audio", str(nan_wav), "--fps", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: `audio_input`: ") and "nan.wav" in err
    assert "Traceback" not in err and "ParameterError" not in err


@pytest.fixture
def truncated_mp3(tmp_path) -> Path:
    whole = tmp_path / "whole.mp3"
    soundfile.write(whole, _tone(4.0), RATE, format="MP3")
    data = whole.read_bytes()
    path = tmp_path / "truncated.mp3"
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_mp3_decodes_what_is_there(truncated_mp3):
    decoded = decoded_audio(truncated_mp3)
    assert decoded.header_duration == pytest.approx(4.0, abs=0.05)
    assert 1.0 < decoded.duration < 3.0
    assert f"{decoded.duration:.2f} s of its 4.00 s decode" in decoded.note
    schedule = AudioSchedule(truncated_mp3, 10)
    assert schedule.num_frames == int(np.ceil(decoded.duration * 10 - 1e-6))
    assert np.isfinite(schedule.frame_energy()).all()
    assert schedule.note == decoded.note


def test_a_render_on_a_truncated_mp3_uses_the_audio_that_decodes_and_says_so(
    make_session, truncated_mp3
):
    decoded = decoded_audio(truncated_mp3)
    session = make_session(
        prompts="0: a corgi\n5: a lion\n11: a fox",
        audio_input=str(truncated_mp3),
        interpolation_type="audio",
        fps=5,
    )
    plan = session.plan()
    schedule = AudioSchedule(truncated_mp3, 5)
    expected = np.concatenate([schedule(0, 5)[:-1], schedule(5, 11)[:-1], [0.0]])
    assert plan.t == pytest.approx(expected)
    # the audio that decodes covers frames 0..9: t reaches 1 at frame 9 and stays there
    assert schedule.num_frames == int(np.ceil(decoded.duration * 5)) == 10
    assert plan.t[8] < 1.0 and plan.t[9] == plan.t[10] == 1.0
    output = session.render()
    assert output is not None and output.exists()
    assert decoded.note in session.message and "truncated.mp3 is truncated" in session.message


def test_keyframes_audio_on_a_truncated_mp3_says_how_much_it_read(truncated_mp3, capsys):
    assert main(["keyframes", "--audio", str(truncated_mp3), "--fps", "10"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "0: timestamp: 0.00"
    duration = decoded_audio(truncated_mp3).duration
    assert out.splitlines()[-1] == f"{int(np.ceil(duration * 10)) - 1}: timestamp: {duration:.2f}"
    assert "is truncated or damaged" in err and "of its 4.00 s decode" in err
