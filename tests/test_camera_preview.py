"""The camera path played without diffusion: the motion of every frame on one picture."""

from __future__ import annotations

import io
import time

import numpy as np
from helpers import pixels
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.media.camera_path import camera_path, pattern_card
from giffusion_nb.media.motion import motion_schedule
from giffusion_nb.ui.camera_preview import CameraPreview


def test_a_translation_moves_the_picture_by_its_pixels_scaled_to_the_preview():
    """8 px a frame on 512 px frames is 4 px a frame on the 256 px preview: frame k is the
    card moved 4k px right."""
    card = pattern_card(512, 512)
    schedule = motion_schedule(5, translate_x="0: (8)")
    frames = [pixels(frame) for frame in camera_path(card, schedule, frame_width=512)]
    first = frames[0]
    assert first.shape == (256, 256, 3)
    for k, frame in enumerate(frames[1:], start=1):
        shift = 4 * k
        np.testing.assert_allclose(frame[:, 64 + shift : 192 + shift], first[:, 64:192], atol=1)


def test_a_zoom_composes_over_the_frames_and_keeps_the_centre():
    card = pattern_card(256, 256)
    schedule = motion_schedule(4, zoom="0: (1.25)")
    *_, last = camera_path(card, schedule, frame_width=256)
    one_move = motion_schedule(2, zoom=f"0: ({1.25**3})")
    *_, direct = camera_path(card, one_move, frame_width=256)
    np.testing.assert_allclose(pixels(last), pixels(direct), atol=1)  # resampled once
    assert not np.array_equal(pixels(last), pixels(card))
    for picture in (pixels(card), pixels(last)):  # the red cross stays at the centre
        middle = picture[96:160, 96:160]
        ys, xs = np.nonzero((middle[..., 0] > 200) & (middle[..., 1] < 120))
        assert abs(ys.mean() + 96 - 128) < 1 and abs(xs.mean() + 96 - 128) < 1


def test_the_camera_tab_plays_48_frames_without_a_pipeline(tmp_path):
    session = RenderSession(
        output_dir=tmp_path,
        prompts="0: a corgi\n47: a lion",
        zoom="0: (1.02)",
        angle="0: (1)",
        translate_x="0: (2), 24: (-2)",
    )
    preview = CameraPreview(session)
    started = time.perf_counter()
    preview.play.click()
    seconds = time.perf_counter() - started
    print(f"camera path: 48 frames in {seconds:.2f} s (no pipeline loaded)")
    assert session._pipe is None
    with Image.open(io.BytesIO(preview.image.value)) as gif:
        assert gif.n_frames == 48 and max(gif.size) == 256
    assert "48 frames of the camera path on a test card" in preview.message.value


def test_the_camera_tab_shows_a_settings_error_instead(tmp_path):
    session = RenderSession(output_dir=tmp_path, prompts="0: a\n8: b", zoom="0: (-1)")
    preview = CameraPreview(session)
    preview.play.click()
    assert "zoom" in preview.message.value and preview.frames == 0


def test_the_camera_tab_plays_the_perspective_flip(tmp_path):
    session = RenderSession(
        output_dir=tmp_path, prompts="0: a\n8: b", perspective_flip_gamma="0: (4)"
    )
    preview = CameraPreview(session)
    preview.play.click()
    with Image.open(io.BytesIO(preview.image.value)) as gif:
        gif.seek(8)
        shown = pixels(gif)
    assert preview.frames == 9 and "no frame moves" not in preview.message.value
    schedule = motion_schedule(9, perspective_flip_gamma="0: (4)")
    *_, flipped = camera_path(pattern_card(512, 512), schedule, frame_width=512)
    card = pixels(pattern_card(256, 256))
    assert np.abs(shown - pixels(flipped)).mean() < 2  # the GIF's palette aside
    assert np.abs(shown - card).mean() > 10


def test_with_a_cadence_the_diffused_frames_are_marked(tmp_path):
    session = RenderSession(
        output_dir=tmp_path,
        prompts="0: a corgi\n8: a lion",
        zoom="0: (1.02)",
        diffusion_cadence=4,
    )
    preview = CameraPreview(session)
    preview.play.click()
    assert "cadence 4: 3 of 9 frames diffused" in preview.message.value
    with Image.open(io.BytesIO(preview.image.value)) as gif:
        corners = []
        for index in range(gif.n_frames):
            gif.seek(index)
            corner = pixels(gif.convert("RGB"))[12:20, 236:244]  # the mark of a 256 px frame
            corners.append(bool(((corner[..., 0] > 200) & (corner[..., 1] < 90)).all()))
    assert corners == [k in (0, 4, 8) for k in range(9)]
