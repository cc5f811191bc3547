"""Even-paced travel, the numbers: from the change measured between probe pictures of a segment
to t values that make every frame change the picture by the same amount."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

PROBE_POINTS = 5  # probe pictures per segment before refining, its two key frames included
PROBE_REFINE_RATIO = 1.5  # an interval changing more than this times the mean is split
PROBE_MAX_POINTS = 9  # at most this many probe pictures in one segment


@dataclass(frozen=True)
class SegmentProbe:
    """The probe of one segment: its t values (0 to 1, increasing) and the change measured
    between each neighbouring pair of their pictures (one value fewer)."""

    t: np.ndarray
    change: np.ndarray

    def cumulative(self) -> np.ndarray:
        """The share of the segment's whole change reached at each probe t (0 to 1)."""
        total = float(self.change.sum())
        if not total > 0:
            return self.t.copy()  # nothing changes: keep the schedule as it is
        return np.concatenate(([0.0], np.cumsum(self.change) / total))

    def even_t(self, scheduled: np.ndarray) -> np.ndarray:
        """The t at which the picture has made ``scheduled`` of its change: the inverse of the
        cumulative change, linear between probe points."""
        return np.interp(scheduled, self.cumulative(), self.t)


def probe_points(frames: int) -> np.ndarray:
    """The first probe t values of a segment of ``frames`` frames (its key frames included)."""
    return np.linspace(0.0, 1.0, min(PROBE_POINTS, frames + 1))


def next_probe(probe: SegmentProbe) -> float | None:
    """A t to probe next: the middle of the interval that changes most, while it changes more
    than ``PROBE_REFINE_RATIO`` times the mean and the segment has points left; else None."""
    if len(probe.t) >= PROBE_MAX_POINTS or not probe.change.size:
        return None
    widest = int(np.argmax(probe.change))
    if probe.change[widest] <= PROBE_REFINE_RATIO * probe.change.mean():
        return None
    return float((probe.t[widest] + probe.t[widest + 1]) / 2)


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
                str(segment): {"t": probe.t.tolist(), "change": probe.change.tolist()}
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
            )
            for segment, probe in data["probes"].items()
        }
        return cls(scheduled, t, probes, int(data["probe_frames"]), float(data["seconds"]))
