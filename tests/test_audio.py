"""Tests for giffusion_nb.media.audio: onsets as key frames and energy-following schedules."""

from __future__ import annotations

import math
from functools import cache, partial
from itertools import pairwise
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio import (
    AUDIO_COMPONENTS,
    MEL_REDUCERS,
    AudioKeyFrame,
    AudioSchedule,
    audio_duration,
    audio_key_frames,
    format_key_frames,
    frames_for_duration,
    onset_envelope,
)
from giffusion_nb.media.audio_stream import mel_power

SAMPLE_RATE = 22050
DURATION = 4.0
# Mid-frame at both 10 and 24 fps: the spectrogram window (±46 ms) spreads a click's energy a
# little before it, so a click right after a frame boundary would peak in the frame before.
CLICKS = [(k + 0.5) / 24 for k in (13, 32, 49, 75)]  # 0.5625, 1.354, 2.0625, 3.146 s
FPS_VALUES = (10, 24)


def _signal(tone: float) -> np.ndarray:
    """Silence with a 10 ms noise click at each of CLICKS; ``tone`` > 0 adds a note there too."""
    rng = np.random.default_rng(0)
    samples = np.zeros(int(DURATION * SAMPLE_RATE), dtype=np.float32)
    click = np.arange(int(0.01 * SAMPLE_RATE))
    hold = 0.7
    note = np.arange(int(hold * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(note / 0.005, (hold - note) / 0.1)) * np.exp(-note / 0.2)
    for time, pitch in zip(CLICKS, (440, 660, 550, 880), strict=True):
        start = round(time * SAMPLE_RATE)
        burst = rng.uniform(-1, 1, click.size) * np.exp(-click / (0.003 * SAMPLE_RATE))
        samples[start : start + click.size] += 0.8 * burst
        samples[start : start + note.size] += tone * np.sin(2 * np.pi * pitch * note) * envelope
    return samples


@pytest.fixture(scope="module")
def clicks_wav(tmp_path_factory) -> Path:
    """Clicks only: a clean signal for the percussive component and for energy."""
    path = tmp_path_factory.mktemp("audio") / "clicks.wav"
    soundfile.write(path, _signal(tone=0.0), SAMPLE_RATE)
    return path


@pytest.fixture(scope="module")
def notes_wav(tmp_path_factory) -> Path:
    """Clicks plus decaying 0.7 s notes starting with them: the harmonic part of bare clicks is
    too weak to find onsets in, so this signal has onsets in every component."""
    path = tmp_path_factory.mktemp("audio") / "notes.wav"
    soundfile.write(path, _signal(tone=0.3), SAMPLE_RATE)
    return path


@pytest.fixture(scope="module")
def schedule(clicks_wav):
    """A cached AudioSchedule factory on the clicks: (fps, component, reducer) -> schedule."""
    return cache(lambda fps, component, reduce: AudioSchedule(clicks_wav, fps, component, reduce))


# --- loading -----------------------------------------------------------------------------------


def _whole_file_mel(path: Path, component: str) -> np.ndarray:
    """librosa on the whole file at once: what the block-wise analysis must reproduce."""
    samples, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True)
    if component != "both":
        samples = getattr(librosa.effects, component)(samples)
    return librosa.feature.melspectrogram(y=samples, sr=SAMPLE_RATE)


def test_duration(clicks_wav):
    assert audio_duration(clicks_wav) == pytest.approx(DURATION)


@pytest.mark.parametrize("component", AUDIO_COMPONENTS)
def test_block_wise_mel_equals_librosa_on_the_whole_file(notes_wav, monkeypatch, component):
    import giffusion_nb.media.audio_stream as stream

    whole = _whole_file_mel(notes_wav, component)
    assert np.allclose(mel_power(notes_wav, component), whole, rtol=1e-4, atol=1e-6 * whole.max())
    # small blocks: the 4 s file is analysed in 6 blocks, each with its context on both sides
    monkeypatch.setattr(stream, "BLOCK", 32 * stream.HOP)
    monkeypatch.setattr(stream, "MARGIN", 24 * stream.HOP)
    blocks = mel_power(notes_wav, component)
    assert blocks.shape == whole.shape
    assert np.allclose(blocks, whole, rtol=1e-4, atol=1e-6 * whole.max())


def test_block_wise_mel_resamples_and_mixes_to_mono(tmp_path):
    path = tmp_path / "stereo-44k.wav"
    left = librosa.resample(_signal(tone=0.3), orig_sr=SAMPLE_RATE, target_sr=44100)
    soundfile.write(path, np.stack([left, 0.5 * left], axis=1), 44100, subtype="FLOAT")
    whole = _whole_file_mel(path, "both")
    mine = mel_power(path, "both")
    assert mine.shape == whole.shape
    assert np.allclose(mine, whole, rtol=1e-3, atol=1e-5 * whole.max())


def test_frames_for_duration():
    assert frames_for_duration(4.0, 10) == 40
    assert frames_for_duration(4.01, 10) == 41
    assert frames_for_duration(0.1, 30) == 3  # 0.1 * 30 is 3.0000000000000004
    assert frames_for_duration(0.001, 10) == 1


# --- key frames --------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", FPS_VALUES)
@pytest.mark.parametrize("component", AUDIO_COMPONENTS)
def test_key_frames_land_on_the_onsets(notes_wav, component, fps):
    key_frames = audio_key_frames(notes_wav, fps, component)
    last = math.ceil(DURATION * fps) - 1
    assert key_frames[0] == AudioKeyFrame(0, 0.0)
    assert key_frames[-1].frame == last
    assert key_frames[-1].timestamp == pytest.approx(DURATION)
    frames = [key.frame for key in key_frames]
    assert frames == sorted(set(frames))
    onsets = key_frames[1:-1]
    assert len(onsets) == len(CLICKS)
    for key, click in zip(onsets, CLICKS, strict=True):
        assert abs(key.frame - round(click * fps)) <= 1
        assert key.timestamp == pytest.approx(click, abs=0.05)
        assert key.frame == round(key.timestamp * fps)


def test_clicks_only_key_frames(clicks_wav):
    for component in ("percussive", "both"):
        onsets = audio_key_frames(clicks_wav, 10, component)[1:-1]
        assert [key.timestamp for key in onsets] == pytest.approx(CLICKS, abs=0.05)


def test_key_frames_scale_with_fps(notes_wav):
    slow = audio_key_frames(notes_wav, 10)
    fast = audio_key_frames(notes_wav, 24)
    assert [key.timestamp for key in slow] == [key.timestamp for key in fast]
    assert [key.frame for key in slow[1:-1]] == [round(key.timestamp * 10) for key in slow[1:-1]]
    assert [key.frame for key in fast[1:-1]] == [round(key.timestamp * 24) for key in fast[1:-1]]
    assert (slow[-1].frame, fast[-1].frame) == (39, 95)
    assert fast[2].frame > 2 * slow[2].frame


def test_format_key_frames():
    key_frames = [AudioKeyFrame(0, 0.0), AudioKeyFrame(12, 0.5), AudioKeyFrame(95, 3.999)]
    text = format_key_frames(key_frames)
    assert text == "0: timestamp: 0.00\n12: timestamp: 0.50\n95: timestamp: 4.00"
    assert format_key_frames([]) == ""


# --- onset envelope ----------------------------------------------------------------------------


@pytest.mark.parametrize("fps", FPS_VALUES)
def test_onset_envelope_on_the_frame_axis(clicks_wav, fps):
    envelope = onset_envelope(clicks_wav, fps)
    assert envelope.frames.shape == envelope.strength.shape
    assert envelope.frames[0] == 0.0
    assert envelope.frames[-1] <= DURATION * fps
    assert envelope.frames[-1] >= DURATION * fps - 512 / SAMPLE_RATE * fps
    assert np.all(np.diff(envelope.frames) > 0)
    assert envelope.onset_frames.dtype.kind == "i"
    assert len(envelope.onset_frames) == len(CLICKS)
    for frame, click in zip(envelope.onset_frames, CLICKS, strict=True):
        assert abs(frame - round(click * fps)) <= 1
    assert envelope.key_frames == audio_key_frames(clicks_wav, fps)
    assert [key.frame for key in envelope.key_frames[1:-1]] == list(envelope.onset_frames)


# --- energy schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize("fps", FPS_VALUES)
@pytest.mark.parametrize("reduce", MEL_REDUCERS)
@pytest.mark.parametrize("component", ["percussive", "both"])
def test_schedule_jumps_at_each_click(schedule, component, reduce, fps):
    audio = schedule(fps, component, reduce)
    assert audio.num_frames == math.ceil(DURATION * fps)
    assert audio.frame_energy().shape == (audio.num_frames,)
    for click in CLICKS:  # the last segments are late in the audio: still in sync
        click_frame = math.floor(click * fps)
        start, end = click_frame - 3, click_frame + 4
        t = audio(start, end)
        assert t.shape == (end - start + 1,)
        assert t[0] == 0.0 and t[-1] == 1.0
        assert np.all(np.diff(t) >= 0)
        assert start + int(np.argmax(np.diff(t))) + 1 == click_frame


@pytest.mark.parametrize("reduce", MEL_REDUCERS)
def test_schedule_over_key_frame_segments(schedule, notes_wav, reduce):
    audio = schedule(24, "percussive", reduce)
    frames = [key.frame for key in audio_key_frames(notes_wav, 24)]
    for start, end in pairwise(frames):
        t = audio(start, end)
        assert t.shape == (end - start + 1,)
        assert t[0] == 0.0 and t[-1] == 1.0
        assert np.all(np.diff(t) >= 0)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 120), length=st.integers(1, 60))
def test_schedule_is_monotone_from_exactly_0_to_exactly_1(schedule, start, length):
    end = start + length - 1
    for reduce in MEL_REDUCERS:
        t = schedule(24, "percussive", reduce)(start, end)
        assert t.shape == (length,)
        assert t[0] == 0.0
        assert t[-1] == (0.0 if length == 1 else 1.0)
        assert np.all(np.diff(t) >= 0)


def test_schedule_in_silence_is_linear(schedule):
    audio = schedule(10, "both", "max")
    assert np.array_equal(audio(0, 4), np.linspace(0, 1, 5))  # before the first click
    assert np.array_equal(audio(36, 39), np.linspace(0, 1, 4))  # after the last one
    assert np.array_equal(audio(40, 50), np.linspace(0, 1, 11))  # past the audio's end
    assert np.array_equal(schedule(10, "harmonic", "mean")(0, 39), np.linspace(0, 1, 40))
    assert list(audio(7, 7)) == [0.0]


def test_frames_past_the_end_have_no_energy(schedule):
    audio = schedule(10, "percussive", "max")
    t = audio(30, 50)  # the last click is in frame 31
    assert t[0] == 0.0
    assert np.all(t[2:] == 1.0)


def test_schedule_keeps_only_per_frame_values(schedule):
    audio = schedule(24, "both", "median")
    arrays = [value for value in vars(audio).values() if isinstance(value, np.ndarray)]
    assert arrays and all(array.size == audio.num_frames for array in arrays)
    energy = audio.frame_energy()
    energy[:] = 0.0  # a copy: the schedule is unchanged
    assert audio.frame_energy().max() > 0


def test_schedule_rejects_a_bad_segment(schedule):
    with pytest.raises(ValueError, match="start"):
        schedule(10, "percussive", "max")(5, 4)


# --- errors ------------------------------------------------------------------------------------


def _error(call, field: str, *words: str) -> SettingsError:
    """Run ``call``: it must raise a SettingsError for ``field`` whose message has all ``words``."""
    with pytest.raises(SettingsError) as info:
        call()
    assert info.value.field == field
    for word in words:
        assert word in info.value.message
    return info.value


def test_missing_and_empty_files(tmp_path):
    missing = tmp_path / "missing.wav"
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for call in (audio_duration, lambda p: AudioSchedule(p, 10), lambda p: audio_key_frames(p, 10)):
        _error(
            partial(call, missing), "audio_input", "expected an audio file", "no file", str(missing)
        )
        _error(partial(call, empty), "audio_input", "expected an audio file", "empty (0 bytes)")
    _error(lambda: AudioSchedule(missing, 10), "audio_input", "no file")
    _error(lambda: onset_envelope(empty, 10), "audio_input", "empty")


@pytest.mark.filterwarnings("ignore:PySoundFile failed")
def test_not_audio(tmp_path):
    text = tmp_path / "prompts.wav"
    text.write_text("0: a corgi\n60: a lion\n")
    for call in (
        audio_duration,
        lambda p: audio_key_frames(p, 10),
        lambda p: onset_envelope(p, 10),
    ):
        error = _error(partial(call, text), "audio_input", "expected an audio file", "prompts.wav")
        assert error.__cause__ is not None


@pytest.mark.filterwarnings("ignore:PySoundFile failed")
def test_truncated_wav(clicks_wav, tmp_path):
    data = clicks_wav.read_bytes()
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(data[:44])
    _error(lambda: audio_duration(header_only), "audio_input", "expected audio samples", "none")
    broken_header = tmp_path / "broken.wav"
    broken_header.write_bytes(data[:20])
    _error(lambda: audio_duration(broken_header), "audio_input", "expected an audio file")
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) // 2])  # libsndfile reads the samples that are there
    assert audio_duration(half) == pytest.approx(DURATION / 2, abs=0.01)
    assert audio_key_frames(half, 10)[-1].frame == 19


def test_too_long(clicks_wav):
    long = lambda: audio_duration(clicks_wav, max_seconds=1.0)  # noqa: E731
    _error(long, "audio_input", "expected at most 1 seconds", "lasts 4.0 s")


def test_unknown_component_and_reducer(clicks_wav, tmp_path):
    calls = [
        lambda: audio_key_frames(clicks_wav, 10, "drums"),
        lambda: onset_envelope(clicks_wav, 10, "drums"),
        lambda: AudioSchedule(clicks_wav, 10, "drums"),
        lambda: AudioSchedule(tmp_path / "missing.wav", 10, "drums"),  # checked before the file
    ]
    for call in calls:
        _error(call, "audio_component", "expected one of percussive, harmonic, both", "'drums'")
    reducer = lambda: AudioSchedule(clicks_wav, 10, "percussive", "sum")  # noqa: E731
    _error(reducer, "mel_reduce", "expected one of max, mean, median", "'sum'")


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf"), "fast", None])
def test_bad_fps(clicks_wav, fps):
    for call in (audio_key_frames, onset_envelope, AudioSchedule):
        _error(partial(call, clicks_wav, fps), "fps", "frames per second", str(fps))


def test_chunked_onset_strength_equals_librosas(notes_wav, monkeypatch):
    import giffusion_nb.media.audio_stream as stream

    mel = mel_power(notes_wav, "percussive")
    mel[:, 40:60] = 0.0  # digital silence inside: the floor is the whole track's
    whole = librosa.onset.onset_strength(
        S=librosa.power_to_db(mel), sr=SAMPLE_RATE, hop_length=stream.HOP
    )
    monkeypatch.setattr(stream, "ONSET_CHUNK", 7)  # 173 columns in 25 chunks
    chunked = stream.onset_strength(mel)
    assert chunked.shape == whole.shape
    assert np.allclose(chunked, whole, rtol=1e-5, atol=1e-5 * whole.max())
