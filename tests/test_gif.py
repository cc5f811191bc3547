"""The streamed GIF: its blocks read back by Pillow and ffmpeg, delta frames, and its palettes."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from helpers import gif_frames, gradient, pixels
from PIL import Image, ImageFilter

from giffusion_nb.output.encoders import GifEncoder
from giffusion_nb.output.palette import (
    MAX_COLOURS,
    frame_palette,
    map_nearest,
    nearest_indices,
    quantize,
    quantize_frame,
)


def calm(seed: int, size: int = 64) -> Image.Image:
    """Smooth colour patches, like a trained model draws."""
    rgb = np.random.default_rng(seed).integers(0, 256, (size, size, 3)).astype(np.uint8)
    return Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(size / 16))


def psnr(a: Image.Image, b: Image.Image) -> float:
    return float(10 * np.log10(255**2 / np.mean(np.square(pixels(a) - pixels(b)))))


def ffmpeg_frames(path: Path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return [np.frombuffer(data, np.uint8).reshape(height, width, 3) for data in reader]


def test_frames_go_to_the_file_as_they_come(tmp_path):
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    sizes = []
    for seed in range(4):
        encoder.append(calm(seed))
        sizes.append(encoder._temp.stat().st_size)
    assert sizes == sorted(sizes) and sizes[0] > 1000 and len(set(sizes)) == 4
    assert not (tmp_path / "out.gif").exists()
    assert encoder.close().stat().st_size == sizes[-1] + 1  # the trailer
    assert [path.name for path in tmp_path.iterdir()] == ["out.gif"]


def test_abort_mid_stream_deletes_the_partial_file(tmp_path):
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    encoder.append(calm(0))
    encoder.abort()
    assert list(tmp_path.iterdir()) == []


def test_pillow_and_ffmpeg_decode_the_same_frames(tmp_path):
    sources = [calm(0), calm(1), calm(1), gradient(3), calm(2).convert("L")]
    encoder = GifEncoder(tmp_path / "out.gif", 12)
    for source in sources:
        encoder.append(source)
    path = encoder.close()
    ours = [np.asarray(frame) for frame in gif_frames(path)]
    theirs = ffmpeg_frames(path)
    assert len(ours) == len(theirs) == len(sources)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(ours[1], ours[2])  # the repeat shows the same picture


def test_only_the_changed_rectangle_is_stored(tmp_path):
    first = calm(0).quantize(200).convert("RGB")  # few colours: each frame's palette is exact
    second = first.copy()
    second.paste(first.crop((0, 0, 6, 4)), (20, 30))
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    encoder.append(first)
    encoder.append(second)
    path = encoder.close()
    with Image.open(path) as gif:
        gif.seek(1)
        left, top, right, bottom = gif.dispose_extent
    assert 20 <= left < right <= 26 and 30 <= top < bottom <= 34
    decoded = gif_frames(path)
    assert decoded[1].tobytes() == second.tobytes()


def test_a_frame_keeps_what_the_screen_shows_at_least_as_closely(tmp_path):
    # each frame has a palette of its own: where the picture did not change, only pixels
    # that the new palette serves strictly better are sent again
    first = calm(0)
    second = first.copy()
    second.paste(first.crop((0, 0, 6, 4)), (20, 30))
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    encoder.append(first)
    encoder.append(second)
    decoded = gif_frames(encoder.close())
    alone = GifEncoder(tmp_path / "alone.gif", 10)
    alone.append(second)
    assert psnr(decoded[1], second) >= psnr(gif_frames(alone.close())[0], second)


def test_a_frame_with_few_colours_is_exact(tmp_path):
    image = Image.fromarray(
        np.random.default_rng(1).integers(0, 255, (32, 48, 1)).repeat(3, axis=2).astype(np.uint8)
    )  # 255 greys at most: they all fit
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    encoder.append(image)
    encoder.append(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    frames = gif_frames(encoder.close())
    assert frames[0].tobytes() == image.tobytes()
    assert frames[1].tobytes() == image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).tobytes()


@pytest.mark.parametrize("size", [64, 200])  # 200: trained on a grid of its pixels
def test_palette_is_closer_than_pillows_median_cut(size):
    image = calm(3, size)
    palette = frame_palette(np.asarray(image))
    assert len(palette) <= MAX_COLOURS
    ours = Image.fromarray(palette[map_nearest(np.asarray(image), palette).indices])
    pillow = image.quantize(256, method=Image.Quantize.MEDIANCUT).convert("RGB")
    # trained on a grid of the frame's pixels (every other one at 200 px), so 0.5 dB: the
    # 1 dB over Pillow's whole GIF is measured on photographs by `bench --gif`
    assert psnr(ours, image) > psnr(pillow, image) + 0.5


def noisy(seed: int, size: int) -> np.ndarray:
    """Detail everywhere (as photographs have): far more colours than cells of 7 bits."""
    rng = np.random.default_rng(seed)
    return np.asarray(calm(seed, size)) // 2 + rng.integers(0, 128, (size, size, 3), np.uint8)


@pytest.mark.parametrize("source", ["calm", "noisy"])
def test_nearest_indices_are_the_nearest_palette_colours(source):
    pixels_ = np.asarray(calm(5, 300)) if source == "calm" else noisy(5, 300)
    palette = frame_palette(pixels_)
    indices = nearest_indices(pixels_, palette)
    distances = np.square(pixels_[..., None, :].astype(int) - palette.astype(int)).sum(axis=3)
    chosen = np.take_along_axis(distances, indices[..., None].astype(int), axis=2)[..., 0]
    best = distances.min(axis=2)
    if source == "calm":  # smooth: mapped colour by colour
        assert np.array_equal(chosen, best)
    else:  # detailed: by cells, whose centres are within half a level of their colours
        assert (np.sqrt(chosen) <= np.sqrt(best) + np.sqrt(3)).all()
        assert chosen.mean() <= 1.02 * best.mean()


def test_only_banding_areas_are_dithered():
    smooth = np.asarray(gradient(0, 300))  # more colours than a palette holds, in smooth ramps
    frame = quantize(smooth, map_nearest(smooth, frame_palette(smooth)))
    assert 0.05 < frame.dithered.mean() < 1
    flat = np.asarray(calm(4))  # patches the palette covers closely: nothing to dither
    assert not quantize_frame(flat).dithered.any()
