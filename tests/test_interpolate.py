"""Frame interpolation of the output: optical-flow in-betweens at the true sub-pixel position,
2F-1 frames with the rendered ones unchanged at doubled indices, the frame rate multiplied."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pixels
from PIL import Image, ImageSequence

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.flow import flow_in_betweens
from giffusion_nb.output.frame_writer import FrameWriter
from giffusion_nb.output.readers import count_frames, iter_frames
from giffusion_nb.settings import Settings
from giffusion_nb.validation import check_setting

SHIFT = np.array([3.4, -1.8])  # pixels right and down from one frame to the next


def _pattern(offset: np.ndarray, size: int = 64) -> np.ndarray:
    """A smooth colour pattern moved by ``offset`` (x, y) pixels, sampled exactly."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = x - offset[0], y - offset[1]
    red = 128 + 60 * np.sin(2 * np.pi * x / 17) * np.cos(2 * np.pi * y / 23)
    green = 128 + 60 * np.cos(2 * np.pi * x / 13) + 30 * np.sin(2 * np.pi * y / 11)
    blue = 128 + 50 * np.sin(2 * np.pi * (x - y) / 19)
    return np.dstack([red, green, blue]).clip(0, 255).round().astype(np.uint8)


def _position(picture: np.ndarray) -> np.ndarray:
    """The offset of the pattern that ``picture`` shows best, searched on a 0.1 px grid
    (borders left out)."""
    inner = np.s_[8:-8, 8:-8]
    candidates = [np.array([x, y]) for x in np.arange(-1, 5, 0.1) for y in np.arange(-3, 1, 0.1)]
    errors = [np.abs(_pattern(c)[inner].astype(float) - picture[inner]).mean() for c in candidates]
    return candidates[int(np.argmin(errors))]


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_in_betweens_lie_within_a_pixel_of_the_true_position(method):
    start, end = _pattern(np.zeros(2)), _pattern(SHIFT)
    thirds = flow_in_betweens(start, end, [1 / 3, 2 / 3], method)
    for t, picture in zip((1 / 3, 2 / 3), thirds, strict=True):
        found = _position(picture)
        assert np.abs(found - t * SHIFT).max() < 1.0, (method, t, found)
    # a plain cross-fade is no picture of the pattern in between
    fade = (0.5 * start.astype(float) + 0.5 * end).round()
    assert np.abs(_pattern(SHIFT / 2)[8:-8, 8:-8] - fade[8:-8, 8:-8]).mean() > 10


PROMPTS = "0: a red circle\n4: a blue square"


def test_doubling_gives_2f_minus_1_frames_with_the_rendered_ones_at_even_indices(
    make_session, monkeypatch
):
    plain = make_session(prompts=PROMPTS, fps=10).render()
    encoded = []  # what goes into the encoder (on the CPU the writer works in this process)
    original = FrameWriter._append_one
    monkeypatch.setattr(
        FrameWriter,
        "_append_one",
        lambda self, pixels, quantized: encoded.append(pixels) or original(self, pixels, quantized),
    )
    doubled = make_session(prompts=PROMPTS, fps=10, interpolate_frames=1).render()
    assert count_frames(plain) == (5, pytest.approx(10))
    count, fps = count_frames(doubled)
    assert count == 9 and fps == pytest.approx(20)  # 2F - 1 frames at twice the fps
    with Image.open(doubled) as gif:
        assert [frame.info["duration"] for frame in ImageSequence.Iterator(gif)] == [50] * 9
    rendered = [pixels(Image.open(p)) for p in sorted((doubled.parent / "frames").glob("*.png"))]
    assert len(rendered) == 5  # the frames folder keeps the rendered frames
    assert len(encoded) == 9
    for index in range(5):  # the rendered frames, unchanged, at the doubled indices
        assert np.array_equal(encoded[2 * index], rendered[index])
    shown, before = list(iter_frames(doubled)), list(iter_frames(plain))
    for index in range(5):  # and the GIF shows them as a plain render's does (delta frames
        # keep a pixel the frame before shows at least as closely: a level or two)
        assert np.abs(pixels(shown[2 * index]) - pixels(before[index])).mean() < 2.0
    for index in range(4):  # in-betweens are new pictures
        between = pixels(shown[2 * index + 1])
        assert np.abs(between - pixels(before[index])).mean() > 2.0
        assert np.abs(between - pixels(before[index + 1])).mean() > 2.0


def test_an_mp4_gets_k_in_betweens_at_k_plus_1_times_the_fps(make_session):
    output = make_session(
        prompts=PROMPTS, fps=8, interpolate_frames=2, output_format="mp4"
    ).render()
    count, fps = count_frames(output)
    assert count == 3 * 5 - 2 and fps == pytest.approx(24)


def test_interpolation_settings_errors_name_the_field():
    settings = Settings(fps=20, interpolate_frames=2)  # a GIF of 60 frames/s
    with pytest.raises(SettingsError, match="at most 50 frames/s") as info:
        check_setting(settings, "interpolate_frames")
    assert info.value.field == "interpolate_frames"
    assert "20 x 3 frames/s" in info.value.message
    settings.update(output_format="mp4")
    check_setting(settings, "interpolate_frames")  # an MP4 plays 60
    settings.update(interpolate_frames=16)
    with pytest.raises(SettingsError, match="between 0 and 15"):
        check_setting(settings, "interpolate_frames")
    settings.update(interpolate_frames=6)
    with pytest.raises(SettingsError, match="between 1 and 120"):
        check_setting(settings, "interpolate_frames")  # 140 frames/s
