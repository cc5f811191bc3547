"""Load an input image safely and crop it to a size the diffusion model accepts."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from giffusion_nb.errors import SettingsError

MAX_PIXELS = 4096 * 4096


def check_file(path: str | Path, *, field: str, expected: str) -> Path:
    """``path`` as a Path if it names a non-empty file; SettingsError otherwise.

    ``expected`` says what the file should hold (``"an image"``, ``"a video"``).
    """
    path = Path(path)
    if not path.exists():
        raise SettingsError(field, f"expected {expected} file, found no file at {path}")
    if not path.is_file():
        raise SettingsError(field, f"expected {expected} file, found a directory at {path}")
    if path.stat().st_size == 0:
        raise SettingsError(field, f"expected {expected} file, found an empty file at {path}")
    return path


def load_image(path: str | Path, *, field: str = "image_input") -> Image.Image:
    """The image at ``path`` as RGB, turned upright by its EXIF orientation, fully decoded."""
    path = check_file(path, field=field, expected="an image")
    try:
        with Image.open(path) as image:
            _check_pixels(image.size, path, field)
            image.load()
            upright = ImageOps.exif_transpose(image)
            return upright.convert("RGB")
    except SettingsError:
        raise
    except UnidentifiedImageError as exc:
        raise SettingsError(
            field, f"expected an image file (PNG, JPEG, WebP...), found {path} in another format"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise SettingsError(field, f"{path} has too many pixels (at most {MAX_PIXELS})") from exc
    except Exception as exc:  # a damaged file can make the decoder raise almost anything
        raise SettingsError(
            field, f"could not decode the image {path}, it may be truncated or damaged: {exc}"
        ) from exc


def check_image_header(path: str | Path, *, field: str = "image_input") -> tuple[int, int]:
    """The (width, height) of the image at ``path`` from its header, its structure checked
    without decoding the pixels (``verify``: a truncated PNG fails); a ``SettingsError``
    naming ``field`` otherwise."""
    path = check_file(path, field=field, expected="an image")
    try:
        with Image.open(path) as image:
            _check_pixels(image.size, path, field)
            image.verify()
            return image.size
    except SettingsError:
        raise
    except UnidentifiedImageError as exc:
        raise SettingsError(
            field, f"expected an image file (PNG, JPEG, WebP...), found {path} in another format"
        ) from exc
    except Exception as exc:  # a damaged file can make the parser raise almost anything
        raise SettingsError(
            field, f"could not read the image {path}, it may be truncated or damaged: {exc}"
        ) from exc


def _check_pixels(size: tuple[int, int], path: Path, field: str) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise SettingsError(
            field,
            f"{path} is {width}x{height} = {width * height} pixels, "
            f"expected at most {MAX_PIXELS} (e.g. 4096x4096)",
        )


def fit_size(width: int, height: int, multiple: int = 8) -> tuple[int, int]:
    """Each side rounded down to a multiple of ``multiple`` (and at least ``multiple``)."""
    if multiple < 1:
        raise ValueError(f"multiple must be at least 1, got {multiple}")
    return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)


def fit_image(image: Image.Image, multiple: int = 8) -> Image.Image:
    """``image`` centre-cropped to ``fit_size`` (no rescaling).

    A side shorter than ``multiple`` is padded with black to ``multiple`` pixels.
    """
    width, height = image.size
    target_width, target_height = fit_size(width, height, multiple)
    if (target_width, target_height) == (width, height):
        return image.copy()
    left = (width - target_width) // 2
    top = (height - target_height) // 2
    return image.crop((left, top, left + target_width, top + target_height))
