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
    frame_colours,
    frame_palette,
    map_nearest,
    quantize,
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
    first = calm(0)
    second = first.copy()
    second.paste(first.crop((0, 0, 6, 4)), (20, 30))  # its own colours: the palette still fits
    encoder = GifEncoder(tmp_path / "out.gif", 10)
    encoder.append(first)
    encoder.append(second)
    path = encoder.close()
    with Image.open(path) as gif:
        gif.seek(1)
        left, top, right, bottom = gif.dispose_extent
    assert 20 <= left < right <= 26 and 30 <= top < bottom <= 34
    decoded = gif_frames(path)
    assert np.abs(pixels(decoded[1]) - pixels(second))[30:34, 20:26].mean() < 2
    assert psnr(decoded[1], second) > psnr(decoded[0], first) - 0.1  # the kept palette fits


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


@pytest.mark.parametrize("size", [64, 200])  # 200: trained on a reduced copy
def test_palette_is_closer_than_pillows_median_cut(size):
    image = calm(3, size)
    colours = frame_colours(np.asarray(image))
    palette = frame_palette(image, colours)
    assert len(palette) <= MAX_COLOURS
    ours = Image.fromarray(palette[map_nearest(np.asarray(image), colours, palette).indices])
    pillow = image.quantize(256, method=Image.Quantize.MEDIANCUT).convert("RGB")
    assert psnr(ours, image) > psnr(pillow, image) + 1


def test_only_banding_areas_are_dithered():
    smooth = gradient(0, 300)  # more colours than a palette holds, in smooth ramps
    colours = frame_colours(np.asarray(smooth))
    palette = frame_palette(smooth, colours)
    frame = quantize(smooth, map_nearest(np.asarray(smooth), colours, palette))
    assert 0.2 < frame.dithered.mean() < 1
    flat = calm(4)  # patches the palette covers closely: nothing to dither
    colours = frame_colours(np.asarray(flat))
    palette = frame_palette(flat, colours)
    assert not quantize(flat, map_nearest(np.asarray(flat), colours, palette)).dithered.any()
