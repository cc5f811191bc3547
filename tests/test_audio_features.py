"""Audio features per output frame (giffusion_nb.media.audio_features) on synthetic audio whose
answers are known: clicks at known frames, a sine burst of known envelope, tones in known
bands, a 120 BPM pulse."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
from helpers import write_clicks

from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import frame_rate
from giffusion_nb.keyframes.audio_keys import KeySource
from giffusion_nb.keyframes.audio_terms import AudioTerm
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.media.audio_features import audio_analysis, frame_features
from giffusion_nb.media.beats import audio_keys

RATE = 22050
CLICK_FRAMES = (13, 40, 77, 101, 130)


def _features(path: Path, fps, component: str = "percussive"):
    return frame_features(path, fps, component)


@pytest.mark.parametrize("fps", [24, 25, "30000/1001"])
def test_onset_peaks_exactly_on_the_click_frames(tmp_path, fps):
    rate = frame_rate(float(Fraction(fps)))
    times = [float(frame / rate) for frame in CLICK_FRAMES]  # each click at its frame's time
    path = write_clicks(tmp_path / "clicks.wav", times, 6.0)
    onset = _features(path, rate).values(AudioTerm("onset"), np.arange(150))
    assert np.flatnonzero(onset > 0.02).tolist() == list(CLICK_FRAMES)
    assert onset.max() == pytest.approx(1.0)
    assert onset[list(CLICK_FRAMES)].min() > 0.4


def test_amp_of_a_sine_burst_follows_its_envelope_within_5_percent(tmp_path):
    seconds = np.arange(4 * RATE) / RATE
    envelope = np.where(
        (seconds > 0.5) & (seconds < 3.5), np.sin(np.pi * (seconds - 0.5) / 3.0) ** 2, 0.0
    )
    path = tmp_path / "burst.wav"
    soundfile.write(path, (0.6 * envelope * np.sin(2 * np.pi * 440 * seconds)), RATE)
    fps = 25
    amp = _features(path, fps).values(AudioTerm("amp"), np.arange(100))
    expected = np.interp(np.arange(100) / fps, seconds, envelope)
    assert np.abs(amp - expected).max() < 0.05
    assert amp.max() == pytest.approx(1.0, abs=0.01)  # normalised over the columns


def test_band_hears_only_its_frequencies_and_perc_harm_split_clicks_from_tones(tmp_path):
    seconds = np.arange(4 * RATE) / RATE
    low = np.where(seconds < 2, np.sin(2 * np.pi * 100 * seconds), 0.0)
    high = np.where(seconds >= 2, np.sin(2 * np.pi * 3000 * seconds), 0.0)
    path = tmp_path / "tones.wav"
    soundfile.write(path, 0.4 * (low + high), RATE)
    features = _features(path, 10)
    frames = np.arange(40)
    bass = features.values(AudioTerm("band", 50, 200), frames)
    treble = features.values(AudioTerm("band", 2000, 4000), frames)
    assert bass[3:17].min() > 0.8 and bass[23:37].max() < 0.05
    assert treble[23:37].min() > 0.8 and treble[3:17].max() < 0.05
    # a steady tone is harmonic; clicks are percussive
    clicks = write_clicks(tmp_path / "clicks.wav", [0.5, 1.5, 2.5], 3.0)
    tone = _features(path, 10)
    assert tone.values(AudioTerm("harm"), frames)[5:15].min() > 0.5
    assert tone.values(AudioTerm("perc"), frames)[5:15].max() < 0.2
    clicked = _features(clicks, 10)
    perc, harm = (clicked.values(AudioTerm(name), np.arange(30)) for name in ("perc", "harm"))
    assert perc[[5, 15, 25]].min() > 0.5 and perc[10] < 0.05
    assert harm.max() < 0.05  # bare clicks: no harmonic part at all


def test_attack_and_release_smooth_a_feature_over_frames(tmp_path):
    path = write_clicks(tmp_path / "clicks.wav", [1.0], 3.0)
    fps = 20
    features = _features(path, fps)
    raw = features.values(AudioTerm("onset"), np.arange(60))
    released = features.values(AudioTerm("onset", release=0.25), np.arange(60))
    assert np.flatnonzero(raw).tolist() == [20]
    assert released[20] == pytest.approx(raw[20])  # no attack: at once
    decay = np.exp(-1 / (0.25 * fps))
    assert released[21:26] / released[20:25] == pytest.approx([decay] * 5)
    slow = features.values(AudioTerm("onset", attack=0.1, release=0.25), np.arange(60))
    assert slow[20] == pytest.approx(raw[20] * (1 - np.exp(-1 / (0.1 * fps))))


def test_features_past_the_end_of_the_audio_are_silent(tmp_path):
    path = write_clicks(tmp_path / "clicks.wav", [0.2], 1.0)
    values = _features(path, 10).values(AudioTerm("amp"), np.arange(30))
    assert values[2] > 0.5 and not values[12:].any()


def test_a_curve_reads_the_features_at_its_frames(tmp_path):
    path = write_clicks(tmp_path / "clicks.wav", [0.5, 1.5], 2.0)
    features = _features(path, 10)
    zoom = curve_values("0: (1.0 + 0.1*onset)", 20, field="zoom", features=features)
    assert np.flatnonzero(zoom != 1.0).tolist() == [5, 15]
    assert zoom.max() == pytest.approx(1.1)


def test_the_analysis_is_made_once_per_file(tmp_path, monkeypatch):
    import giffusion_nb.media.audio_features as module

    path = write_clicks(tmp_path / "clicks.wav", [0.5], 1.0)
    first = audio_analysis(path)
    monkeypatch.setattr(module, "_analyse", lambda *args: pytest.fail("analysed twice"))
    assert audio_analysis(path) is first
    assert _features(path, 12).values(AudioTerm("amp"), np.arange(3)).shape == (3,)


def test_beat_key_frames_of_120_bpm_fall_every_half_second(tmp_path):
    beats = [0.25 + 0.5 * index for index in range(16)]
    path = write_clicks(tmp_path / "pulse.wav", beats, 8.5)
    fps = 24
    keys = audio_keys(path, fps, source=KeySource("beats"))
    assert keys.tempo == pytest.approx(120, abs=3)
    inner = [key for key in keys.key_frames[1:-1]]  # frame 0 and the audio's end added
    assert len(inner) >= 14
    for key in inner:
        assert min(abs(key.frame - beat * fps) for beat in beats) <= 1
    assert np.all(np.abs(np.diff([key.frame for key in inner]) - 0.5 * fps) <= 1)
    assert np.all(np.abs(np.diff([key.timestamp for key in inner]) - 0.5) <= 1 / fps)
    bars = audio_keys(path, fps, source=KeySource("bars", 1, 4)).key_frames[1:-1]
    assert np.all(np.abs(np.diff([key.timestamp for key in bars]) - 2.0) <= 1 / fps)
    # the beat feature is 1 on the beats' frames
    beat = _features(path, fps).values(AudioTerm("beat"), np.arange(200))
    assert set(np.flatnonzero(beat)) == {key.frame for key in inner}


def test_prompts_go_onto_the_beats_in_order(tmp_path):
    path = write_clicks(tmp_path / "pulse.wav", [0.25 + 0.5 * k for k in range(8)], 4.5)
    keys = audio_keys(path, 10, source=KeySource("beats", 2), prompts=["a fox", "a lion --neg x"])
    lines = keys.text.splitlines()
    assert [line.split(": ", 1)[1] for line in lines[:3]] == ["a fox", "a lion --neg x", "a fox"]
    assert [int(line.split(":")[0]) for line in lines] == [key.frame for key in keys.key_frames]
    assert "repeated in order" in keys.note
    assert keys.summary().startswith(f"{len(lines)} key frames on every 2 beats at ")


def test_an_unknown_component_is_an_error_on_its_field(tmp_path):
    path = write_clicks(tmp_path / "clicks.wav", [0.5], 1.0)
    with pytest.raises(SettingsError) as info:
        audio_analysis(path, "drums")
    assert info.value.field == "audio_component"


def test_the_block_wise_analysis_equals_librosa_on_the_whole_file(tmp_path, monkeypatch):
    import librosa

    import giffusion_nb.media.audio_features as module

    seconds = np.arange(4 * RATE) / RATE
    samples = 0.3 * np.sin(2 * np.pi * 330 * seconds) * (seconds > 1)
    clicks = soundfile.read(write_clicks(tmp_path / "c.wav", [0.5, 1.7, 2.9], 4.0))[0]
    path = tmp_path / "mix.wav"
    soundfile.write(path, samples + clicks, RATE)
    whole, _ = librosa.load(path, sr=RATE)
    harmonic, percussive = librosa.effects.hpss(whole)
    rms = {
        name: librosa.feature.rms(y=signal)[0]
        for name, signal in (("amp", whole), ("perc", percussive), ("harm", harmonic))
    }
    mel = librosa.feature.melspectrogram(y=whole, sr=RATE)
    for block in (module.FEATURE_BLOCK, 32 * 512):  # the 4 s in one block, and in six
        monkeypatch.setattr(module, "FEATURE_BLOCK", block)
        module._cached.cache_clear()
        analysis = audio_analysis(path)
        for name, expected in rms.items():
            assert np.allclose(getattr(analysis, name), expected, atol=1e-4 * expected.max())
        assert np.allclose(analysis.mel, mel, rtol=1e-3, atol=1e-6 * mel.max())
    module._cached.cache_clear()
