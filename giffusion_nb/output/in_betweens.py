"""Frame interpolation of the output: optical-flow in-betweens put between each two rendered
frames as they go into the encoder, at a frame rate multiplied to keep every frame's time."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from giffusion_nb.media.flow import flow_in_betweens


def output_fps(fps: float | Fraction, count: int) -> float | Fraction:
    """The output's frame rate with ``count`` in-betweens after each frame: frame k of the
    render stays at k / fps seconds."""
    return fps * (count + 1)


class InBetweens:
    """``count`` in-betweens (by ``method``'s optical flow) before each frame after the first,
    at 1/(count+1), 2/(count+1), … of the way from the frame before."""

    def __init__(self, count: int = 0, method: str = "dis") -> None:
        self.count, self.method = count, method
        self._last: np.ndarray | None = None

    def before(self, pixels: np.ndarray) -> list[np.ndarray]:
        """The in-betweens to encode before ``pixels`` (the next frame, ``(H, W, 3)`` uint8)."""
        last, self._last = self._last, pixels
        if self.count == 0 or last is None:
            return []
        ts = [step / (self.count + 1) for step in range(1, self.count + 1)]
        return flow_in_betweens(last, pixels, ts, self.method)
