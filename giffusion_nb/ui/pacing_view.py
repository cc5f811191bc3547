"""Even pacing on the interpolation preview: each frame's t after re-timing beside its t as
scheduled, and the change the probe measured per frame."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.keyframes.plan import FramePlan


class PacingLines:
    """The paced t (dashed) on the t axes, and the probe's change per frame on a second
    y axis; both empty while there is no pacing for the plan shown."""

    def __init__(self, axes: Axes) -> None:
        (self.paced,) = axes.plot([], [], color="C1", linestyle="--", label="t, evenly paced")
        self.change_axes = axes.twinx()
        self.change_axes.set_ylabel("probe change / frame", color="C2")
        (self.change,) = self.change_axes.plot([], [], color="C2", drawstyle="steps-post")
        self.change_axes.set_visible(False)

    def show(self, pacing: Pacing | None, plan: FramePlan) -> str:
        """Draw ``pacing`` when it was probed for this plan's schedule; returns a note."""
        fits = pacing is not None and np.array_equal(pacing.scheduled_t, plan.t)
        self.change_axes.set_visible(fits)
        if not fits:
            self.paced.set_data([], [])
            self.change.set_data([], [])
            return ""
        self.paced.set_data(np.arange(plan.num_frames), pacing.t)
        frames, per_frame = _change_per_frame(pacing, plan)
        self.change.set_data(frames, per_frame)
        if per_frame.size:
            self.change_axes.set_ylim(0, float(per_frame.max()) * 1.1 or 1.0)
        return f" · {pacing.describe()} (dashed: t evenly paced)"


def _change_per_frame(pacing: Pacing, plan: FramePlan) -> tuple[np.ndarray, np.ndarray]:
    """Each probed interval's change per frame of t, placed at the frames it spans."""
    key_frames = [key_frame.frame for key_frame in plan.key_frames]
    frames, values = [], []
    for segment, probe in sorted(pacing.probes.items()):
        start, end = key_frames[segment], key_frames[segment + 1]
        widths = np.diff(probe.t) * (end - start)
        frames.extend(start + probe.t[:-1] * (end - start))
        values.extend(probe.change / np.maximum(widths, 1e-9))
        frames.append(end)
        values.append(values[-1])
    return np.array(frames), np.array(values)
