"""Optical flow between two pictures (OpenCV's DIS or Farneback) and the picture part way
between them, each warped along the flow and blended by its distance."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from giffusion_nb.choices import FLOW_METHODS


def optical_flow(start: np.ndarray, end: np.ndarray, method: str = "dis") -> np.ndarray:
    """The flow ``(H, W, 2)`` (x, y in pixels) from ``start`` to ``end`` (RGB ``uint8``
    arrays): ``start`` at p shows what ``end`` shows at p + flow[p]."""
    if method not in FLOW_METHODS:
        raise ValueError(f"expected a flow method of {FLOW_METHODS}, got {method!r}")
    first = cv2.cvtColor(start, cv2.COLOR_RGB2GRAY)
    second = cv2.cvtColor(end, cv2.COLOR_RGB2GRAY)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(first, second, None)
    return cv2.calcOpticalFlowFarneback(first, second, None, 0.5, 4, 15, 5, 5, 1.2, 0)


def flow_in_between(
    start: Image.Image, end: Image.Image, t: float, method: str = "dis"
) -> Image.Image:
    """The picture a fraction ``t`` (0 to 1) of the way from ``start`` to ``end``: ``start``
    moved ``t`` of the way along the flow from ``end`` back to it, ``end`` moved ``1 - t``
    along the flow to it, blended ``1 - t`` to ``t``."""
    a, b = np.asarray(start.convert("RGB")), np.asarray(end.convert("RGB"))
    (picture,) = flow_in_betweens(a, b, [t], method)
    return Image.fromarray(picture, mode="RGB")


def flow_in_betweens(
    start: np.ndarray, end: np.ndarray, ts: list[float], method: str = "dis"
) -> list[np.ndarray]:
    """The pictures (RGB ``uint8`` arrays) at each fraction of ``ts`` of the way from
    ``start`` to ``end`` (see ``flow_in_between``), from one flow each way."""
    forward, backward = optical_flow(start, end, method), optical_flow(end, start, method)
    height, width = start.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    pictures = []
    for t in ts:
        from_start = _remap(start, xs + t * backward[..., 0], ys + t * backward[..., 1])
        from_end = _remap(end, xs + (1 - t) * forward[..., 0], ys + (1 - t) * forward[..., 1])
        blended = (1 - t) * from_start + t * from_end
        pictures.append(np.clip(np.rint(blended), 0, 255).astype(np.uint8))
    return pictures


def _remap(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    moved = cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return moved.astype(np.float32)
