"""2D motion over several frames as one 3x3 matrix in pixel coordinates, and a warp by such a
matrix (forward or backward, affine or a homography), so a path of frames is resampled once."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from giffusion_nb.choices import PADDING_MODES
from giffusion_nb.errors import SettingsError
from giffusion_nb.media.motion_step import MotionStep, step_matrix

# Below this homogeneous coordinate a source point lies on or beyond the picture's horizon.
_HORIZON = 1e-6


def check_padding_mode(mode: str) -> None:
    """Raise SettingsError unless ``mode`` is one of PADDING_MODES."""
    if mode not in PADDING_MODES:
        expected = ", ".join(repr(name) for name in PADDING_MODES)
        raise SettingsError("padding_mode", f"expected one of {expected}, found {mode!r}")


def path_matrix(steps: Iterable[MotionStep], width: int, height: int) -> np.ndarray:
    """The forward map of ``steps`` made one after the other (the identity for none)."""
    matrix = np.eye(3)
    for step in steps:
        matrix = step_matrix(step, width, height) @ matrix
    return matrix


def warp_by_matrix(
    image: Image.Image, matrix: np.ndarray, padding_mode: str = "border"
) -> Image.Image:
    """``image`` moved by the forward map ``matrix`` (an affine map or a homography)."""
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32))
    moved = warp_tensor_by_matrix(pixels.permute(2, 0, 1)[None], matrix, padding_mode)[0]
    out = moved.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(out, mode="RGB")


def warp_tensor_by_matrix(
    images: torch.Tensor, matrix: np.ndarray, padding_mode: str = "border"
) -> torch.Tensor:
    """A float batch ``(B, C, H, W)`` moved by the forward map ``matrix``: each output pixel
    centre is mapped back through the inverse and sampled bilinearly. Under a homography,
    output pixels beyond the picture's horizon (no point of the picture shows there) are
    filled as the padding far outside it."""
    check_padding_mode(padding_mode)
    _batch, _channels, height, width = images.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    source = np.linalg.inv(matrix) @ points
    source = source[:2] / np.maximum(source[2], _HORIZON)
    grid = np.stack([2 * source[0] / width - 1, 2 * source[1] / height - 1], axis=-1)
    grid = torch.from_numpy(grid.reshape(1, height, width, 2)).to(images)
    return F.grid_sample(
        images,
        grid.expand(images.shape[0], -1, -1, -1),
        mode="bilinear",
        padding_mode=padding_mode,
        align_corners=False,
    )
