"""One frame's 2D motion: its values, and its forward map as a 3x3 matrix in pixel coordinates
(zoom, angle and translation, then the perspective flip, as Deforum composes them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from giffusion_nb.media.perspective import DEFAULT_FV, perspective_matrix


@dataclass(frozen=True)
class MotionStep:
    """One frame's motion.

    ``zoom`` multiplies the scale (> 1 moves forward), ``angle`` is in degrees
    (positive = counter-clockwise on screen), ``translate_x`` / ``translate_y`` are
    pixels (positive = content moves right / down) of the frame before it is turned and
    scaled, as in Deforum: with angle 90 a translation to the right moves the picture up.
    ``theta``, ``phi``, ``gamma`` (degrees) and ``fv`` (the field of view, degrees) are
    Deforum's perspective flip, applied after that move (see ``perspective_matrix``); it is
    off while the three angles are 0.
    """

    zoom: float = 1.0
    angle: float = 0.0
    translate_x: float = 0.0
    translate_y: float = 0.0
    theta: float = 0.0
    phi: float = 0.0
    gamma: float = 0.0
    fv: float = DEFAULT_FV

    def is_still(self) -> bool:
        """True when the step leaves the image unchanged."""
        return (
            self.zoom == 1.0
            and self.angle == 0.0
            and self.translate_x == 0.0
            and self.translate_y == 0.0
            and not self.has_perspective()
        )

    def has_perspective(self) -> bool:
        """True when the perspective flip turns the picture (a homography, not affine)."""
        return self.theta != 0.0 or self.phi != 0.0 or self.gamma != 0.0


def step_matrix(step: MotionStep, width: int, height: int) -> np.ndarray:
    """The forward map of one frame's move in pixel coordinates (x right, y down, edges at 0
    and W): ``p' = c + zoom R (p - c + t)`` about the true centre c, as ``motion.warp``, then
    the perspective flip (Deforum's ``bM @ rot_mat @ trans_mat``) when it is on."""
    radians = math.radians(step.angle)
    cos, sin = math.cos(radians) * step.zoom, math.sin(radians) * step.zoom
    cx, cy = width / 2, height / 2
    move = np.array([[1.0, 0.0, step.translate_x - cx], [0.0, 1.0, step.translate_y - cy]])
    turn = np.array([[cos, sin, cx], [-sin, cos, cy]])
    affine = np.vstack([turn @ np.vstack([move, [0.0, 0.0, 1.0]]), [0.0, 0.0, 1.0]])
    if not step.has_perspective():
        return affine
    flip = perspective_matrix(step.theta, step.phi, step.gamma, step.fv, width, height)
    return flip @ affine
