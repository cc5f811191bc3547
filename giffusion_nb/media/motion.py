"""Deforum-style 2D animation: per-frame zoom, rotation and translation as one affine warp, and
the perspective flip as one homography."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.media.motion_path import check_padding_mode, warp_tensor_by_matrix
from giffusion_nb.media.motion_step import MotionStep, step_matrix
from giffusion_nb.media.perspective import DEFAULT_FV, check_fv, check_tilt

# The settings a motion schedule reads, in the order ``motion_schedule`` takes them.
MOTION_SETTINGS = (
    "zoom",
    "angle",
    "translate_x",
    "translate_y",
    "perspective_flip_theta",
    "perspective_flip_phi",
    "perspective_flip_gamma",
    "perspective_flip_fv",
)


def warp(image: Image.Image, step: MotionStep, padding_mode: str = "border") -> Image.Image:
    """``image`` moved by ``step`` about its centre, as an RGB image of the same size."""
    check_padding_mode(padding_mode)
    image = image.convert("RGB")
    if step.is_still():
        return image.copy()
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
    warped = warp_tensor(pixels.unsqueeze(0), step, padding_mode)[0]
    out = warped.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(out, mode="RGB")


def warp_tensor(
    images: torch.Tensor, step: MotionStep, padding_mode: str = "border"
) -> torch.Tensor:
    """A batch of images ``(B, C, H, W)`` (floats in any range) moved by ``step``: one affine
    ``grid_sample``, or with the perspective flip on, the step's homography."""
    check_padding_mode(padding_mode)
    if images.ndim != 4 or not images.is_floating_point():
        shape = tuple(images.shape)
        raise ValueError(
            f"expected a float tensor of shape (B, C, H, W), found {images.dtype} {shape}"
        )
    if step.is_still():
        return images.clone()
    batch, _channels, height, width = images.shape
    if step.has_perspective():
        return warp_tensor_by_matrix(images, step_matrix(step, width, height), padding_mode)
    theta = torch.tensor(_inverse_affine(step, width, height), dtype=images.dtype)
    theta = theta.to(images.device).expand(batch, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False
    )


def _inverse_affine(step: MotionStep, width: int, height: int) -> list[list[float]]:
    """The 2x3 matrix mapping output to input positions in grid_sample's [-1, 1] coordinates.

    As Deforum composes a move (``rot_mat @ trans_mat``): in pixels about the centre (y down)
    a point q goes to ``zoom * R (q + t)``, so the translation t is itself turned and scaled;
    R turns counter-clockwise on screen. The centre is the true one, (W/2, H/2) in edge
    coordinates, where Deforum's ``(W // 2, H // 2)`` lies half a pixel off. Normalised
    coordinates are pixels divided by (width / 2, height / 2), so the rotation is conjugated
    by that scaling.
    """
    radians = math.radians(step.angle)
    cos, sin = math.cos(radians) / step.zoom, math.sin(radians) / step.zoom
    # inverse in pixels: q = R^-1 q' / zoom - t, with R^-1 = [[cos, -sin], [sin, cos]]
    half_w, half_h = width / 2, height / 2
    return [
        [cos, -sin * half_h / half_w, -step.translate_x / half_w],
        [sin * half_w / half_h, cos, -step.translate_y / half_h],
    ]


@dataclass(frozen=True, eq=False)
class MotionSchedule:
    """Per-frame motion values (read-only arrays, one value per frame); ``theta``, ``phi``,
    ``gamma`` and ``fv`` are the perspective flip's (see ``MotionStep``)."""

    zoom: np.ndarray
    angle: np.ndarray
    translate_x: np.ndarray
    translate_y: np.ndarray
    theta: np.ndarray
    phi: np.ndarray
    gamma: np.ndarray
    fv: np.ndarray

    def step(self, frame: int) -> MotionStep:
        """The motion applied to make frame ``frame``."""
        if not 0 <= frame < len(self.zoom):
            raise IndexError(f"the schedule has {len(self.zoom)} frames, no frame {frame}")
        return MotionStep(
            zoom=float(self.zoom[frame]),
            angle=float(self.angle[frame]),
            translate_x=float(self.translate_x[frame]),
            translate_y=float(self.translate_y[frame]),
            theta=float(self.theta[frame]),
            phi=float(self.phi[frame]),
            gamma=float(self.gamma[frame]),
            fv=float(self.fv[frame]),
        )

    def is_active(self) -> bool:
        """True when some frame moves."""
        return bool(
            np.any(self.zoom != 1.0)
            or np.any(self.angle != 0.0)
            or np.any(self.translate_x != 0.0)
            or np.any(self.translate_y != 0.0)
            or self.has_perspective()
        )

    def values(self, name: str) -> np.ndarray:
        """The per-frame values of the setting ``name`` (one of ``MOTION_SETTINGS``)."""
        return getattr(self, name.removeprefix("perspective_flip_"))

    def has_perspective(self) -> bool:
        """True when the perspective flip turns some frame."""
        return bool(
            np.any(self.theta != 0.0) or np.any(self.phi != 0.0) or np.any(self.gamma != 0.0)
        )


def motion_schedule(
    num_frames: int,
    zoom: str = "",
    angle: str = "",
    translate_x: str = "",
    translate_y: str = "",
    *,
    perspective_flip_theta: str = "",
    perspective_flip_phi: str = "",
    perspective_flip_gamma: str = "",
    perspective_flip_fv: str = "",
    features: FrameFeatures | None = None,
) -> MotionSchedule:
    """Parse key-frame strings (the settings of the same names) into per-frame motion; an empty
    string means no motion (the field of view: ``DEFAULT_FV``). Audio features in them come
    from ``features``. Out-of-range values are SettingsErrors naming the field and frame."""
    zooms = _values(zoom, num_frames, "zoom", 1.0, features)
    bad = np.flatnonzero(~(zooms > 0))
    if bad.size:
        frame = int(bad[0])
        raise SettingsError(
            "zoom", f"frame {frame} has zoom {float(zooms[frame])!r}, expected a value > 0"
        )
    flip = {
        name: _values(text, num_frames, field, 0.0, features)
        for name, field, text in (
            ("theta", "perspective_flip_theta", perspective_flip_theta),
            ("phi", "perspective_flip_phi", perspective_flip_phi),
            ("gamma", "perspective_flip_gamma", perspective_flip_gamma),
        )
    }
    check_tilt(flip["phi"], "perspective_flip_phi")
    check_tilt(flip["gamma"], "perspective_flip_gamma")
    fv = _values(perspective_flip_fv, num_frames, "perspective_flip_fv", DEFAULT_FV, features)
    check_fv(fv, "perspective_flip_fv")
    return MotionSchedule(
        zoom=zooms,
        angle=_values(angle, num_frames, "angle", 0.0, features),
        translate_x=_values(translate_x, num_frames, "translate_x", 0.0, features),
        translate_y=_values(translate_y, num_frames, "translate_y", 0.0, features),
        fv=fv,
        **flip,
    )


def settings_motion(
    settings: object, num_frames: int, features: FrameFeatures | None = None
) -> MotionSchedule:
    """The motion schedule of ``settings`` (anything with the ``MOTION_SETTINGS`` attributes)
    over ``num_frames`` frames."""
    strings = {name: getattr(settings, name) for name in MOTION_SETTINGS}
    return motion_schedule(num_frames, **strings, features=features)


def _values(
    text: str, num_frames: int, field: str, still: float, features: FrameFeatures | None
) -> np.ndarray:
    if isinstance(text, str) and not text.strip():
        values = np.full(num_frames, still, dtype=np.float64)
    else:
        values = curve_values(text, num_frames, field=field, features=features)
    values.setflags(write=False)
    return values
