"""Even-paced travel, the numbers: from the change measured between probe pictures of a segment
to t values that make every frame change the picture by the same amount."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

PROBE_SHARE = 0.35  # probe pictures per segment: this share of its frames (its key frames included)
PROBE_MIN_POINTS = 3  # a segment's two key frames and its middle, at least


@dataclass(frozen=True)
class SegmentProbe:
    """The probe of one segment of ``frames`` frames: its t values (0 to 1, increasing) and the
    change measured between each neighbouring pair of their pictures (one value fewer)."""

    t: np.ndarray
    change: np.ndarray
    frames: int

    def jumps(self) -> np.ndarray:
        """Intervals narrower than a frame's t that still change more than a frame's share:
        the picture jumps there (a model flipping between two pictures), so one frame crosses
        it however close the frames are."""
        narrow = np.diff(self.t) < 1.0 / self.frames
        return narrow & (self.change > self.change.sum() / self.frames)

    def cumulative(self) -> np.ndarray:
        """The share of the segment's change reached at each probe t (0 to 1), a jump counted
        as one frame's step: more frames across it would only add still frames beside it."""
        weights = np.array(self.change, dtype=np.float64)
        jumps = self.jumps()
        if jumps.any():
            smooth = weights[~jumps].sum()
            weights[jumps] = smooth / max(self.frames - int(jumps.sum()), 1)
        total = float(weights.sum())
        if not total > 0:
            return self.t.copy()  # nothing changes: keep the schedule as it is
        return np.concatenate(([0.0], np.cumsum(weights) / total))

    def even_t(self, scheduled: np.ndarray) -> np.ndarray:
        """The t at which the picture has made ``scheduled`` of its change: the inverse of the
        cumulative change, linear between probe points."""
        return np.interp(scheduled, self.cumulative(), self.t)


def probe_budget(frames: int) -> int:
    """Probe pictures of a segment of ``frames`` frames, its two key frames included."""
    return max(PROBE_MIN_POINTS, round(PROBE_SHARE * frames))


def probe_points(frames: int) -> np.ndarray:
    """The first probe t values of a segment: its key frames and its middle."""
    return np.linspace(0.0, 1.0, PROBE_MIN_POINTS)


def next_probe(probe: SegmentProbe) -> float | None:
    """A t to probe next: the middle of the interval that changes most (jumps already found
    aside), while the segment's budget allows and that interval changes more than one
    frame's step would; else None. Splitting the largest change first finds a jump in a few
    probes, and spends the rest where the change is still coarse."""
    if len(probe.t) >= probe_budget(probe.frames) or not probe.change.size:
        return None
    jumps = probe.jumps()
    open_intervals = np.where(jumps, -1.0, probe.change)
    largest = int(np.argmax(open_intervals))
    step = probe.change[~jumps].sum() / probe.frames
    if not open_intervals[largest] > step:
        return None
    return float((probe.t[largest] + probe.t[largest + 1]) / 2)


def even_plan_t(
    segments: np.ndarray, scheduled: np.ndarray, probes: dict[int, SegmentProbe]
) -> np.ndarray:
    """Every frame's t re-timed by its segment's probe (frames of unprobed segments keep
    theirs); key frames keep t = 0."""
    paced = np.array(scheduled, dtype=np.float64)
    for segment, probe in probes.items():
        frames = segments == segment
        paced[frames] = probe.even_t(paced[frames])
    return np.clip(paced, 0.0, 1.0)


def step_changes(pictures: list[np.ndarray]) -> np.ndarray:
    """Mean absolute difference between consecutive pictures (float arrays of one size)."""
    return np.array([float(np.abs(b - a).mean()) for a, b in itertools.pairwise(pictures)])


def evenness(changes: np.ndarray) -> tuple[float, float]:
    """How even a travel is: the coefficient of variation of its frame-to-frame changes, and
    its largest change over the mean change."""
    mean = float(changes.mean())
    if not mean > 0:
        return 0.0, 1.0
    return float(changes.std() / mean), float(changes.max() / mean)


@dataclass(frozen=True)
class Pacing:
    """A render's even pacing: each frame's t as scheduled and as re-timed, the segment probes
    it came from, and what the probe cost."""

    scheduled_t: np.ndarray
    t: np.ndarray
    probes: dict[int, SegmentProbe]
    probe_frames: int
    seconds: float

    def describe(self) -> str:
        """What the probe did, for people: ``pacing: 24 probe frames, 3.1 s``."""
        return f"pacing: {self.probe_frames} probe frames, {self.seconds:.1f} s"

    def to_json(self) -> dict:
        """A JSON-ready record (the run folder's ``pacing.json``)."""
        return {
            "scheduled_t": self.scheduled_t.tolist(),
            "t": self.t.tolist(),
            "probes": {
                str(segment): {
                    "t": probe.t.tolist(),
                    "change": probe.change.tolist(),
                    "frames": probe.frames,
                }
                for segment, probe in self.probes.items()
            },
            "probe_frames": self.probe_frames,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: dict, num_frames: int) -> Pacing:
        """The record ``to_json`` wrote, checked to fit ``num_frames`` frames."""
        t = np.asarray(data["t"], dtype=np.float64)
        scheduled = np.asarray(data["scheduled_t"], dtype=np.float64)
        if t.shape != (num_frames,) or scheduled.shape != (num_frames,):
            raise ValueError(f"the pacing record does not have {num_frames} frames")
        probes = {
            int(segment): SegmentProbe(
                np.asarray(probe["t"], dtype=np.float64),
                np.asarray(probe["change"], dtype=np.float64),
                int(probe["frames"]),
            )
            for segment, probe in data["probes"].items()
        }
        return cls(scheduled, t, probes, int(data["probe_frames"]), float(data["seconds"]))
