"""The frozen render spec: settings validated and parsed once into what a render reads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values
from giffusion_nb.keyframes.frame_numbers import setting_numbers
from giffusion_nb.keyframes.lora_text import LoraLine, lora_scales, parse_lora
from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.keyframes.plan import FramePlan, plan_frames
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.keyframes.schedules import AudioSchedule
from giffusion_nb.keyframes.seeds import settings_seeds
from giffusion_nb.keyframes.treatment_schedule import TREATMENT_FIELDS
from giffusion_nb.media.audio_features import settings_features
from giffusion_nb.media.audio_file import audio_notes
from giffusion_nb.media.motion import MOTION_SETTINGS, MotionSchedule, settings_motion
from giffusion_nb.render.init_treatment import InitTreatment, init_treatment
from giffusion_nb.settings import FrozenSettings, Settings
from giffusion_nb.validation import validate

# The settings that decide the frames' pixels: a resumed run must have the same.
FRAME_SETTINGS = (
    "model_id",
    "pipeline_class",
    "controlnet_ids",
    "motion_adapter_id",
    "key_frame_model",
    "lora",
    "prompts",
    "negative_prompt",
    "seed",
    "num_inference_steps",
    "guidance_scale",
    "strength",
    "use_fixed_latent",
    "use_prompt_embeds",
    "scheduler",
    "scheduler_kwargs",
    "pipeline_kwargs",
    "height",
    "width",
    "num_latent_channels",
    "video_window",
    "video_overlap",
    "video_join",
    "interpolation_type",
    "interpolation_args",
    "pacing",
    "image_input",
    "video_input",
    "audio_input",
    "audio_component",
    "mel_reduce",
    "fps",
    *MOTION_SETTINGS,
    "padding_mode",
    "color_coherence",
    "color_coherence_space",
    "color_coherence_image",
    "diffusion_cadence",
    "cadence_warp",
    "optical_flow",
    "seed_behavior",
    "seed_iter_n",
    "seed_schedule",
    *TREATMENT_FIELDS,
)


@dataclass(frozen=True, eq=False)
class RenderSpec:
    """One render's settings, read-only, and what they parse into: the frame plan, each
    frame's init-image strength, the 2D motion (``None`` when nothing moves), the LoRA
    adapters and every frame's scale of each, ``(frames, adapters)``.

    A render reads only its spec, so edits of the live settings during a render change
    nothing in it; the previews and Ray workers read the same object.
    """

    settings: FrozenSettings
    plan: FramePlan
    strengths: np.ndarray
    motion: MotionSchedule | None
    pacing: Pacing | None = None  # even pacing, once probed: the plan's t are its t
    lora: tuple[LoraLine, ...] = ()
    lora_scales: np.ndarray | None = None  # (frames, adapters); None: no adapters
    notes: tuple[str, ...] = ()  # what the render should say (a truncated audio input)
    guidance_scales: np.ndarray | None = None  # each frame's guidance scale (a schedule)
    step_counts: np.ndarray | None = None  # each frame's denoising steps (a schedule)
    init_treatment: InitTreatment | None = None  # 2D motion's init treatment (None: off)

    def guidance_at(self, frame: int) -> float:
        """Frame ``frame``'s guidance scale."""
        return float(self.guidance_scales[frame])

    def steps_at(self, frame: int) -> int:
        """Frame ``frame``'s denoising steps."""
        return int(self.step_counts[frame])

    @property
    def most_guidance(self) -> float:
        """The largest guidance scale of any frame (negative prompts count where it guides)."""
        return float(self.guidance_scales.max())

    def lora_scales_at(self, frame: int) -> tuple[float, ...]:
        """Frame ``frame``'s scale of each LoRA adapter (empty without adapters)."""
        return () if self.lora_scales is None else tuple(self.lora_scales[frame].tolist())

    @property
    def num_frames(self) -> int:
        return self.plan.num_frames

    @property
    def needs_pacing(self) -> bool:
        """True while even pacing is asked for and not yet probed."""
        return self.settings.pacing == "even" and self.pacing is None

    def with_pacing(self, pacing: Pacing) -> RenderSpec:
        """This spec with its frames re-timed by ``pacing``."""
        return dataclasses.replace(self, plan=self.plan.with_t(pacing.t), pacing=pacing)

    @classmethod
    def from_settings(cls, settings: Settings, audio: AudioSchedule | None = None) -> RenderSpec:
        """Validate ``settings`` (the first invalid field raises) and parse them once.

        ``audio`` is the audio schedule when ``interpolation_type`` is ``audio``.
        """
        validate(settings)
        frozen = settings.frozen()
        features = settings_features(frozen)  # audio features in key-frame strings (lazy)
        key_frames = parse_prompts(frozen.prompts)
        plan = plan_frames(
            key_frames,
            interpolation_type=frozen.interpolation_type,
            interpolation_args=frozen.interpolation_args,
            seed=frozen.seed,
            use_fixed_latent=frozen.use_fixed_latent,
            audio=audio,
            features=features,
            key_seeds=settings_seeds(frozen, [key.frame for key in key_frames], features),
        )
        motion = settings_motion(frozen, plan.num_frames, features)
        lora = parse_lora(frozen.lora)
        return cls(
            settings=frozen,
            plan=plan,
            strengths=frame_strengths(frozen.strength, plan.num_frames, features),
            motion=motion if motion.is_active() else None,
            lora=lora,
            lora_scales=lora_scales(lora, plan.num_frames, features=features) if lora else None,
            notes=audio_notes(frozen.audio_input),
            guidance_scales=setting_numbers(frozen, "guidance_scale", plan.num_frames, features),
            step_counts=setting_numbers(frozen, "num_inference_steps", plan.num_frames, features),
            init_treatment=init_treatment(frozen, plan.num_frames, features),
        )


def frame_strengths(
    strength: float | str, num_frames: int, features: FrameFeatures | None = None
) -> np.ndarray:
    """The init-image strength of every frame (a number, or a key-frame string), read-only."""
    if isinstance(strength, str):
        values = curve_values(strength, num_frames, field="strength", features=features)
    else:
        values = np.full(num_frames, float(strength))
    values.setflags(write=False)
    return values
