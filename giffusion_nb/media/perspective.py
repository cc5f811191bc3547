"""Deforum's perspective flip: the frame turned in 3D and seen again through a pinhole camera,
as one 3x3 homography in pixel coordinates."""

from __future__ import annotations

import math

import numpy as np

from giffusion_nb.errors import SettingsError

DEFAULT_FV = 53.0  # degrees: Deforum's default perspective_flip_fv


def perspective_matrix(
    theta: float, phi: float, gamma: float, fv: float, width: int, height: int
) -> np.ndarray:
    """The forward map of the perspective flip in pixel coordinates (x right, y down, edges at 0
    and W, H), about the frame's centre c = (W/2, H/2); the identity when all angles are 0.

    The derivation. Put the picture in the plane z = 0 of a space whose x and y are the pixel
    offsets from c (y down) and whose z points at the viewer, and the camera on the z axis at
    distance h = d / (2 sin(fv / 2)), d the frame's diagonal: there a sphere of diameter d just
    fills the field of view fv (Deforum's choice), so no corner of the picture, however it is
    turned, reaches the camera (h > d / 2 for fv < 180). The pinhole's focal length is h too, so
    the unturned picture maps onto itself: a point P goes to ``h (P_x, P_y) / (h - P_z)``.

    The picture is turned by R = Rx(phi) Ry(gamma) Rz(theta) (theta first), with Deforum's
    matrices in these coordinates (angles in degrees)::

        Rz = [[cos t, -sin t, 0], [sin t, cos t, 0], [0, 0, 1]]
        Ry = [[cos g, 0, sin g], [0, 1, 0], [-sin g, 0, cos g]]
        Rx = [[1, 0, 0], [0, cos p, -sin p], [0, sin p, cos p]]

    A picture point p = (x, y, 0) goes to P = x r1 + y r2 (r1, r2: R's first two columns), so
    its image in homogeneous coordinates is ``Hc (x, y, 1)`` with::

        Hc = [[r11, r12, 0], [r21, r22, 0], [-r31 / h, -r32 / h, 1]]

    and the map in pixel coordinates is ``T(c) Hc T(-c)``. On screen: ``theta`` > 0 turns the
    picture clockwise (the opposite of ``angle``: theta 90 is angle -90); ``phi`` > 0 brings
    the bottom edge towards the camera (wider) and takes the top away (narrower); ``gamma`` > 0
    takes the right edge away (shorter) and brings the left one nearer (taller). ``det Hc`` is
    ``r33 = cos(phi) cos(gamma)``: at a tilt of 90 degrees the picture is seen edge-on (a
    singular map) and beyond it from behind, which ``check_tilt`` refuses.

    Deforum multiplies its matrix the other way round with its shift (``M @ post_trans_mat``),
    which turns the picture about the point (s/2, s/2), s = d / cos(fv / 2), instead of the
    centre; here the picture turns about its centre.
    """
    rz, ry, rx = _turn_z(theta), _turn_y(gamma), _turn_x(phi)
    rotation = rx @ ry @ rz
    distance = math.hypot(width, height) / (2 * math.sin(math.radians(fv) / 2))
    centred = np.array(
        [
            [rotation[0, 0], rotation[0, 1], 0.0],
            [rotation[1, 0], rotation[1, 1], 0.0],
            [-rotation[2, 0] / distance, -rotation[2, 1] / distance, 1.0],
        ]
    )
    cx, cy = width / 2, height / 2
    to_centre = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    return back @ centred @ to_centre


def check_tilt(values: np.ndarray, field: str) -> None:
    """Raise SettingsError at the first frame whose tilt (phi or gamma, degrees) turns the
    picture 90 degrees or more from facing the camera (edge-on, or seen from behind)."""
    wrapped = (values + 180.0) % 360.0 - 180.0
    bad = np.flatnonzero(~(np.abs(wrapped) < 90.0))
    if bad.size:
        frame = int(bad[0])
        raise SettingsError(
            field,
            f"frame {frame} turns the picture {float(values[frame]):g} degrees: at 90 it is seen "
            "edge-on and beyond from behind; expected an angle between -90 and 90 (give or take "
            "whole turns of 360)",
        )


def check_fv(values: np.ndarray, field: str) -> None:
    """Raise SettingsError at the first frame whose field of view is not in (0, 180) degrees."""
    bad = np.flatnonzero(~((values > 0.0) & (values < 180.0)))
    if bad.size:
        frame = int(bad[0])
        raise SettingsError(
            field,
            f"frame {frame} has a field of view of {float(values[frame]):g} degrees, expected "
            "more than 0 and less than 180",
        )


def _turn_x(degrees: float) -> np.ndarray:
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, cos, -sin], [0.0, sin, cos]])


def _turn_y(degrees: float) -> np.ndarray:
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])


def _turn_z(degrees: float) -> np.ndarray:
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
