"""Validation of every setting; each error names the setting (the panel shows it by the field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.curves import check_range, curve_values
from giffusion_nb.keyframes.prompts import num_frames, parse_prompts
from giffusion_nb.keyframes.schedules import check_schedule
from giffusion_nb.media.audio import AUDIO_COMPONENTS, MEL_REDUCERS
from giffusion_nb.media.motion import check_padding_mode, motion_schedule
from giffusion_nb.output.encoders import check_output_settings
from giffusion_nb.settings import MANAGED_ARGUMENTS, MAX_SEED, Settings, scheduler_class_name


def check_setting(settings: Settings, name: str) -> None:
    """Validate one setting (the panel shows the error next to that field)."""
    value = getattr(settings, name)
    checks = {
        "model_id": lambda: _check_text(name, value, allow_empty=False),
        "pipeline_class": lambda: _check_text(name, value, allow_empty=False),
        "prompts": lambda: parse_prompts(value, field=name),
        "negative_prompt": lambda: _check_text(name, value, allow_empty=True),
        "seed": lambda: _check_range(name, value, 0, MAX_SEED),
        "num_inference_steps": lambda: _check_range(name, value, 1, 1000),
        "guidance_scale": lambda: _check_range(name, value, 0.0, 100.0),
        "strength": lambda: _check_strength(value, _num_frames_or_one(settings)),
        "scheduler": lambda: _check_scheduler(value),
        "pipeline_kwargs": lambda: _check_pipeline_kwargs(value),
        "batch_size": lambda: _check_range(name, value, 1, 64),
        "height": lambda: _check_size(name, value),
        "width": lambda: _check_size(name, value),
        "num_latent_channels": lambda: _check_range(name, value, 1, 64),
        "interpolation_type": lambda: check_schedule(
            value, settings.interpolation_args, audio_available=bool(settings.audio_input)
        ),
        "output_format": lambda: check_output_settings(value, settings.fps),
        "fps": lambda: check_output_settings(settings.output_format, value),
        "image_input": lambda: _check_input_file(name, value),
        "video_input": lambda: _check_video_input(settings),
        "audio_input": lambda: _check_input_file(name, value),
        "audio_component": lambda: _check_choice(name, value, AUDIO_COMPONENTS),
        "mel_reduce": lambda: _check_choice(name, value, MEL_REDUCERS),
        "zoom": lambda: _check_motion(settings),
        "padding_mode": lambda: check_padding_mode(value),
        "comet_frame_stride": lambda: _check_range(name, value, 1, 100_000),
        "workers": lambda: _check_range(name, value, 1, 1024),
    }
    if name in checks:
        checks[name]()


def _check_text(name: str, value: str, *, allow_empty: bool, limit: int = 10_000) -> None:
    if not allow_empty and not value.strip():
        raise SettingsError(name, "must not be empty")
    if len(value) > limit:
        raise SettingsError(name, f"is too long ({len(value)} characters, at most {limit})")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SettingsError(name, f"expected a value between {low} and {high}, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(name, f"expected one of {', '.join(choices)}, got {value!r}")


def _check_input_file(name: str, value: str) -> None:
    if value and not Path(value).expanduser().is_file():
        raise SettingsError(name, f"no such file: {value!r}")


def _check_video_input(settings: Settings) -> None:
    _check_input_file("video_input", settings.video_input)
    if settings.video_input and settings.image_input:
        raise SettingsError(
            "video_input", "set either image_input or video_input, not both (clear one of them)"
        )


def _check_motion(settings: Settings) -> None:
    """All four motion strings parse, per frame; zoom stays positive."""
    motion_schedule(
        _num_frames_or_one(settings),
        settings.zoom,
        settings.angle,
        settings.translate_x,
        settings.translate_y,
    )


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    _check_range(name, value, 16, 4096)
    if value % 8:
        raise SettingsError(name, f"has to be divisible by 8 but is {value}")


def _num_frames_or_one(settings: Settings) -> int:
    try:
        return num_frames(parse_prompts(settings.prompts))
    except SettingsError:
        return 1  # the prompts' own check reports that


def _check_strength(value: float | str, num_frames: int) -> None:
    if isinstance(value, str):
        values = curve_values(value, num_frames, field="strength")
        check_range(values, 0.0, 1.0, field="strength")
    else:
        _check_range("strength", value, 0.0, 1.0)


def _check_scheduler(value: str) -> None:
    if value != "default":
        scheduler_class_name(value)


def _check_pipeline_kwargs(value: dict[str, Any]) -> None:
    managed = sorted(MANAGED_ARGUMENTS.intersection(value))
    if managed:
        raise SettingsError(
            "pipeline_kwargs",
            f"{', '.join(managed)} {'is' if len(managed) == 1 else 'are'} set by giffusion_nb "
            "itself; use the matching setting instead",
        )
