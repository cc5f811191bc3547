"""The frame plan: which key frames each output frame travels between, at which t, in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from giffusion_nb.prompts import KeyFrame, parse_prompts
from giffusion_nb.schedules import AudioSchedule, FrameStep, frame_steps
from giffusion_nb.settings import MAX_SEED, Settings


@dataclass(frozen=True)
class FramePlan:
    """Key frames, and one ``FrameStep`` (segment, t) per output frame."""

    key_frames: list[KeyFrame]
    steps: list[FrameStep]
    seed: int
    use_fixed_latent: bool

    @property
    def num_frames(self) -> int:
        return len(self.steps)

    def key_frame_seeds(self) -> list[int]:
        """One noise seed per key frame: the seed itself with a fixed latent, else seed + frame."""
        if self.use_fixed_latent:
            return [self.seed] * len(self.key_frames)
        return [(self.seed + key_frame.frame) % (MAX_SEED + 1) for key_frame in self.key_frames]

    def batches(
        self, batch_size: int, frames: Iterable[int] | None = None
    ) -> Iterator[list[FrameStep]]:
        """The steps of ``frames`` (default: all, in order) in batches of ``batch_size``;
        the last batch may be smaller."""
        wanted = range(self.num_frames) if frames is None else sorted(set(frames))
        batch: list[FrameStep] = []
        for frame in wanted:
            if not 0 <= frame < self.num_frames:
                raise IndexError(f"frame {frame} is outside the plan's 0..{self.num_frames - 1}")
            batch.append(self.steps[frame])
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def plan_frames(settings: Settings, audio: AudioSchedule | None = None) -> FramePlan:
    """The frame plan for validated ``settings``: ``last key frame + 1`` frames."""
    key_frames = parse_prompts(settings.prompts)
    num_frames = key_frames[-1].frame + 1
    steps = frame_steps(
        [key_frame.frame for key_frame in key_frames],
        num_frames,
        settings.interpolation_type,
        settings.interpolation_args,
        audio=audio,
    )
    return FramePlan(key_frames, steps, settings.seed, settings.use_fixed_latent)
