"""Tests for giffusion_nb.output.encoders: output settings and the streaming GIF/MP4 encoders."""

from __future__ import annotations

import functools
import math
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from helpers import COLORS, gif_colors, gif_frames, gradient, mp4_frames, pixels, solid
from PIL import Image, ImageFilter, ImageSequence

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import GifEncoder, check_output_settings, open_output
from giffusion_nb.output.gif_format import frame_delay_cs
from giffusion_nb.output.readers import count_frames, read_frame
from giffusion_nb.settings import Settings
from giffusion_nb.validation import invalid_fields

SIZE = (32, 32)
solid = functools.partial(solid, size=SIZE)


def encode(path: Path, fmt: str, fps: float, images: list[Image.Image], audio=None) -> Path:
    encoder = open_output(path, fmt, fps, audio)
    for image in images:
        encoder.append(image)
    return encoder.close()


def write_sine_wav(path: Path, seconds: float, rate: int = 22050) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * math.pi * 440 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def audio_seconds(video: Path, tmp_path: Path) -> float:
    """Decode the video's audio stream to a WAV and measure it."""
    wav_path = tmp_path / "extracted.wav"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video)]
    command += ["-map", "0:a:0", "-c:a", "pcm_s16le", str(wav_path)]
    subprocess.run(command, check=True, capture_output=True)
    with wave.open(str(wav_path)) as wav:
        return wav.getnframes() / wav.getframerate()


def no_temp_files(folder: Path) -> bool:
    return not [path for path in folder.rglob("*") if path.suffix == ".tmp"]


def noise(seed: int, low: int = 0) -> Image.Image:
    """64 px of uniform noise, like a model with random weights draws; green and blue are
    kept at ``low`` or above."""
    rgb = np.random.default_rng(seed).integers(0, 256, (64, 64, 3))
    rgb[..., 1:] = low + rgb[..., 1:] * (255 - low) // 255
    return Image.fromarray(rgb.astype(np.uint8))


def calm(seed: int) -> Image.Image:
    """Noise blurred into smooth colour patches, like a trained model draws."""
    return noise(seed).filter(ImageFilter.GaussianBlur(4))


def mean_errors(path: Path, sources: list[Image.Image]) -> list[float]:
    """Each GIF frame's mean absolute difference from its source, in levels."""
    pairs = zip(gif_frames(path), sources, strict=True)
    return [float(np.abs(pixels(frame) - pixels(source)).mean()) for frame, source in pairs]


# --- settings


@pytest.mark.parametrize(
    ("fmt", "fps", "field"),
    [
        ("avi", 10, "output_format"),
        (None, 10, "output_format"),
        ("gif", 0, "fps"),
        ("mp4", 121, "fps"),
        ("gif", float("nan"), "fps"),
        ("gif", True, "fps"),
        ("gif", "10", "fps"),
        ("gif", 51, "fps"),  # a GIF cannot play faster than 50 frames/s
    ],
)
def test_bad_output_settings_name_the_field(tmp_path, fmt, fps, field):
    with pytest.raises(SettingsError) as caught:
        open_output(tmp_path / "out", fmt, fps)
    assert caught.value.field == field


def test_missing_audio_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError) as caught:
        open_output(tmp_path / "out.mp4", "mp4", 10, tmp_path / "nope.wav")
    assert caught.value.field == "audio_path"


def test_format_is_case_insensitive(tmp_path):
    assert check_output_settings(" MP4 ", 10).name == "mp4"
    assert isinstance(open_output(tmp_path / "a.gif", " GIF ", 10), GifEncoder)


# --- GIF


@pytest.mark.parametrize(("fps", "duration"), [(10, 100), (12.5, 80), (1, 1000)])
def test_gif_frame_count_duration_and_loop(tmp_path, fps, duration):
    path = encode(tmp_path / "out.gif", "gif", fps, [solid(color) for color in COLORS])
    with Image.open(path) as gif:
        assert gif.n_frames == len(COLORS)
        for frame in ImageSequence.Iterator(gif):
            assert frame.info["duration"] == duration
            assert frame.info["loop"] == 0
    assert gif_colors(path) == COLORS
    assert no_temp_files(tmp_path)


def test_gif_delays_alternate_to_keep_the_true_frame_rate():
    delays = [frame_delay_cs(12, index) for index in range(120)]
    assert set(delays) == {8, 9}
    assert sum(delays[:3]) == 25 and sum(delays) == 1000  # frame k ends at 100 (k + 1) / 12 cs
    assert [frame_delay_cs(50, index) for index in range(4)] == [2, 2, 2, 2]
    assert [frame_delay_cs(40, index) for index in range(4)] == [3, 2, 3, 2]


def test_gif_at_12_fps_plays_120_frames_in_10_seconds_forever(tmp_path):
    images = [solid(COLORS[index % len(COLORS)], size=(8, 8)) for index in range(120)]
    path = encode(tmp_path / "out.gif", "gif", 12, images)
    with Image.open(path) as gif:
        assert gif.n_frames == 120
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
        assert gif.info["loop"] == 0
    assert sum(durations) == pytest.approx(10_000, abs=10)
    assert set(durations) == {80, 90}


def test_mp4_may_go_faster_than_a_gif(tmp_path):
    assert check_output_settings("mp4", 60).carries_audio
    with pytest.raises(SettingsError, match="at most 50") as caught:
        GifEncoder(tmp_path / "fast.gif", 60)
    assert caught.value.field == "fps"
    assert list(tmp_path.iterdir()) == []
    # the settings say so before a render starts
    assert not invalid_fields(Settings(output_format="mp4", fps=60))
    [error] = invalid_fields(Settings(output_format=" GIF", fps=60))
    assert error.field == "fps" and "at most 50" in str(error)


@pytest.mark.parametrize("size", [64, 300])  # 300: the palette comes from a grid of pixels
def test_gif_palette_keeps_gradients_close_and_dithered(tmp_path, size):
    sources = [gradient(shift, size) for shift in range(2)]
    path = encode(tmp_path / "out.gif", "gif", 10, sources)
    blur = ImageFilter.BoxBlur(3)
    for source, frame in zip(sources, gif_frames(path), strict=True):
        assert np.abs(pixels(frame) - pixels(source)).mean() < 6.5  # dithering's noise
        # dithering where it bands: the local average stays close to the source's (Pillow's
        # median-cut palette is 0.9 levels off at 64 px, 2.9 to 3.1 at 300 px)
        banding = np.abs(pixels(frame.filter(blur)) - pixels(source.filter(blur))).mean()
        pillow = source.quantize(255).convert("RGB").filter(blur)
        assert banding < min(
            1.6, 0.75 * np.abs(pixels(pillow) - pixels(source.filter(blur))).mean()
        )


def test_gif_frame_after_another_is_as_close_as_alone(tmp_path):
    # each frame gets its own palette; what the frame before left on screen only stays
    # where it is at least as close to the new frame
    for sources in ([noise(0), calm(1)], [calm(0), calm(1)], [noise(0), noise(1)]):
        after = mean_errors(encode(tmp_path / "both.gif", "gif", 10, sources), sources)[1]
        alone = mean_errors(encode(tmp_path / "one.gif", "gif", 10, sources[1:]), sources[1:])
        assert after <= alone[0] + 1e-6


def test_gif_keeps_the_colour_of_a_small_patch_the_previous_palette_lacks(tmp_path):
    # The previous palette has no green or blue under 80, so no saturated red; a patch this
    # small barely changes how closely it fits the frame overall.
    patched = noise(1, low=80)
    patched.paste((230, 30, 30), (20, 20, 24, 24))
    path = encode(tmp_path / "out.gif", "gif", 10, [noise(0, low=80), patched])
    patch = pixels(gif_frames(path)[1])[20:24, 20:24]
    assert np.abs(patch.mean(axis=(0, 1)) - (230, 30, 30)).max() < 8


def test_gif_keeps_identical_consecutive_frames(tmp_path):
    a, b = solid(COLORS[0]), gradient(1, size=32)
    sources = [a, a, b, b, b, a, gradient(1, size=32), solid(COLORS[1])]
    path = encode(tmp_path / "out.gif", "gif", 10, sources)
    with Image.open(path) as gif:
        assert gif.n_frames == len(sources)
        assert [frame.info["duration"] for frame in ImageSequence.Iterator(gif)] == [100] * 8
    for index, source in enumerate(sources):
        assert np.abs(pixels(read_frame(path, index)) - pixels(source)).mean() < 6


def test_gif_of_one_repeated_frame_keeps_its_length(tmp_path):
    path = encode(tmp_path / "out.gif", "gif", 10, [solid(COLORS[2])] * 3)
    assert count_frames(path) == (3, 10.0)
    assert gif_colors(path) == [COLORS[2]] * 3


def test_encoder_rejects_frames_of_another_size(tmp_path):
    encoder = open_output(tmp_path / "out.gif", "gif", 10)
    encoder.append(solid(COLORS[0]))
    with pytest.raises(ValueError, match="differs"):
        encoder.append(solid(COLORS[0], size=(16, 16)))


def test_closing_an_empty_encoder_fails_without_leftovers(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        open_output(tmp_path / "out.mp4", "mp4", 10).close()
    assert list(tmp_path.iterdir()) == []


# --- MP4


def test_mp4_frame_count_fps_and_colors(tmp_path):
    path = encode(tmp_path / "out.mp4", "mp4", 12.5, [solid(color) for color in COLORS])
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == len(COLORS)
    meta, frames = mp4_frames(path)
    assert meta["fps"] == 12.5
    assert meta["size"] == SIZE
    for color, frame in zip(COLORS, frames, strict=True):
        assert np.abs(frame - np.array(color)).max() <= 10
    assert no_temp_files(tmp_path)


def test_mp4_pads_odd_sizes_to_even(tmp_path):
    images = [solid(color, size=(63, 65)) for color in COLORS[:3]]
    path = encode(tmp_path / "out.mp4", "mp4", 10, images)
    meta, frames = mp4_frames(path)
    assert meta["size"] == (64, 66)
    for color, frame in zip(COLORS, frames, strict=False):
        assert np.abs(frame - np.array(color)).max() <= 10  # the padding too


def test_mp4_audio_is_cut_to_the_video(tmp_path):
    audio = write_sine_wav(tmp_path / "tone.wav", seconds=3.0)
    path = encode(tmp_path / "out.mp4", "mp4", 10, [solid(c) for c in COLORS[:6]], audio)
    assert (
        "Audio: aac"
        in subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
            capture_output=True,
            text=True,
        ).stderr
    )
    assert audio_seconds(path, tmp_path) == pytest.approx(0.6, abs=0.15)
