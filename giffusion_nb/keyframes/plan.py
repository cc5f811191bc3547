"""The frame plan: which key frames each output frame travels between, at which t, in batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from giffusion_nb.keyframes.prompts import KeyFrame, num_frames, parse_prompts
from giffusion_nb.keyframes.schedules import AudioSchedule, FrameStep, frame_steps
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

    def steps_for(self, frames: Iterable[int] | None = None) -> list[FrameStep]:
        """The steps of ``frames`` (default: all), in frame order."""
        if frames is None:
            return list(self.steps)
        wanted = sorted(set(frames))
        for frame in wanted:
            if not 0 <= frame < self.num_frames:
                raise IndexError(f"frame {frame} is outside the plan's 0..{self.num_frames - 1}")
        return [self.steps[frame] for frame in wanted]


def plan_frames(settings: Settings, audio: AudioSchedule | None = None) -> FramePlan:
    """The frame plan for validated ``settings``: ``last key frame + 1`` frames."""
    key_frames = parse_prompts(settings.prompts)
    total = num_frames(key_frames)
    steps = frame_steps(
        [key_frame.frame for key_frame in key_frames],
        total,
        settings.interpolation_type,
        settings.interpolation_args,
        audio=audio,
    )
    return FramePlan(key_frames, steps, settings.seed, settings.use_fixed_latent)
