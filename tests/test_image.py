"""Loading and cropping input images."""

from __future__ import annotations

import pytest
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media import image as image_module
from giffusion_nb.media.image import fit_image, fit_size, load_image


def test_load_png_as_rgb(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (20, 10), 128).save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert loaded.size == (20, 10)
    assert loaded.getpixel((3, 3)) == (128, 128, 128)


def test_load_palette_and_rgba_as_rgb(tmp_path):
    palette = Image.new("RGB", (8, 8), (200, 10, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.save(tmp_path / "palette.gif")
    Image.new("RGBA", (8, 8), (1, 2, 3, 100)).save(tmp_path / "alpha.png")
    assert load_image(tmp_path / "palette.gif").getpixel((0, 0)) == (200, 10, 30)
    rgba = load_image(str(tmp_path / "alpha.png"))
    assert rgba.mode == "RGB"
    assert rgba.getpixel((0, 0)) == (1, 2, 3)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated by 90 degrees clockwise
    Image.new("RGB", (40, 20), (255, 255, 255)).save(path, exif=exif)
    assert load_image(path).size == (20, 40)


def test_fit_size_rounds_down():
    assert fit_size(70, 131) == (64, 128)
    assert fit_size(64, 64) == (64, 64)
    assert fit_size(5, 9) == (8, 8)
    assert fit_size(100, 100, multiple=64) == (64, 64)


def test_fit_image_crops_the_centre():
    image = Image.new("RGB", (70, 131), (0, 0, 0))
    image.putpixel((35, 65), (255, 0, 0))
    fitted = fit_image(image)
    assert fitted.size == (64, 128)
    assert fitted.getpixel((35 - 3, 65 - 1)) == (255, 0, 0)  # crop offsets (6 // 2, 3 // 2)


def test_fit_image_keeps_a_fitting_image():
    image = Image.new("RGB", (64, 32), (9, 9, 9))
    fitted = fit_image(image)
    assert fitted is not image
    assert fitted.tobytes() == image.tobytes()


def _error(path) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load_image(path, field="init_image")
    assert info.value.field == "init_image"
    return info.value


def test_missing_file(tmp_path):
    assert "no file" in str(_error(tmp_path / "nope.png"))


def test_directory(tmp_path):
    assert "directory" in str(_error(tmp_path))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "empty" in str(_error(path))


def test_text_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("just some text, not an image\n")
    message = str(_error(path))
    assert "expected an image file" in message
    assert "notes.png" in message


def test_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    Image.effect_noise((64, 64), 50).convert("RGB").save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = str(_error(path))
    assert "truncated or damaged" in message


def test_too_many_pixels_is_checked_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(image_module, "MAX_PIXELS", 100)
    path = tmp_path / "big.png"
    Image.effect_noise((20, 10), 50).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # decoding would fail; the header is enough
    message = str(_error(path))
    assert "20x10 = 200 pixels" in message
    assert "at most 100" in message
