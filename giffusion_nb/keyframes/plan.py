"""The frame plan: which key frames each output frame travels between, and at which t."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.prompts import KeyFrame, num_frames
from giffusion_nb.keyframes.schedules import AudioSchedule, FrameStep, frame_schedule

MAX_SEED = 2**63 - 1


class _Steps(Sequence[FrameStep]):
    """The plan's steps as a read-only sequence, made on access from two arrays."""

    def __init__(self, segments: np.ndarray, t: np.ndarray) -> None:
        self._segments, self._t = segments, t

    def __len__(self) -> int:
        return len(self._segments)

    def __getitem__(self, frame):  # an int, or a slice for a list of steps
        if isinstance(frame, slice):
            return [self[index] for index in range(*frame.indices(len(self)))]
        if frame < 0:
            frame += len(self)
        if not 0 <= frame < len(self):
            raise IndexError(f"frame {frame} is outside the plan's 0..{len(self) - 1}")
        return FrameStep(frame, int(self._segments[frame]), float(self._t[frame]))

    def __iter__(self) -> Iterator[FrameStep]:
        for frame in range(len(self)):
            yield self[frame]


@dataclass(frozen=True, eq=False)
class FramePlan:
    """Key frames, and each output frame's segment and t, kept as two read-only arrays (a few
    bytes a frame, whatever the number of key frames)."""

    key_frames: tuple[KeyFrame, ...]
    segments: np.ndarray  # (frames,) int: index of the key frame each frame travels from
    t: np.ndarray  # (frames,) float: 0 = that key frame, 1 = the next one
    seed: int
    use_fixed_latent: bool
    key_seeds: tuple[int, ...] | None = None  # each key frame's seed (None: seed + frame)

    @property
    def num_frames(self) -> int:
        return len(self.segments)

    @property
    def steps(self) -> Sequence[FrameStep]:
        """One ``FrameStep`` per frame, in frame order."""
        return _Steps(self.segments, self.t)

    def key_frame_seed(self, index: int) -> int:
        """The noise seed of key frame ``index``: the seed itself with a fixed latent, else
        its seed by the seed behaviour, or without one seed + the key frame's number."""
        if self.use_fixed_latent:
            return self.seed
        if self.key_seeds is not None:
            return self.key_seeds[index]
        return (self.seed + self.key_frames[index].frame) % (MAX_SEED + 1)

    def steps_for(self, frames: Iterable[int] | None = None) -> list[FrameStep]:
        """The steps of ``frames`` (default: all), in frame order."""
        steps = self.steps
        if frames is None:
            return list(steps)
        return [steps[frame] for frame in _checked_frames(frames, self.num_frames)]

    def with_t(self, t: np.ndarray) -> FramePlan:
        """The same plan with other t values (re-timed travel), checked to stay in [0, 1]."""
        t = np.asarray(t, dtype=np.float64)
        if t.shape != self.t.shape or not np.all((t >= 0) & (t <= 1)):
            raise ValueError(f"expected {self.num_frames} t values in [0, 1]")
        return dataclasses.replace(self, t=_read_only(t))


def _checked_frames(frames: Iterable[int], count: int) -> list[int]:
    wanted = sorted(set(frames))
    for frame in wanted:
        if not 0 <= frame < count:
            raise IndexError(f"frame {frame} is outside the plan's 0..{count - 1}")
    return wanted


def _read_only(values: np.ndarray) -> np.ndarray:
    values = np.array(values)
    values.setflags(write=False)
    return values


def plan_frames(
    key_frames: Sequence[KeyFrame],
    *,
    interpolation_type: str = "linear",
    interpolation_args: str = "",
    seed: int = 0,
    use_fixed_latent: bool = False,
    audio: AudioSchedule | None = None,
    features: FrameFeatures | None = None,
    key_seeds: Sequence[int] | None = None,
) -> FramePlan:
    """The frame plan of validated key frames: ``last key frame + 1`` frames (``features``:
    the audio features an interpolation curve may read; ``key_seeds``: each key frame's seed,
    by default seed + its frame)."""
    segments, t = frame_schedule(
        [key_frame.frame for key_frame in key_frames],
        num_frames(key_frames),
        interpolation_type,
        interpolation_args,
        audio=audio,
        features=features,
    )
    seeds = None if key_seeds is None else tuple(key_seeds)
    return FramePlan(
        tuple(key_frames), _read_only(segments), _read_only(t), seed, use_fixed_latent, seeds
    )
