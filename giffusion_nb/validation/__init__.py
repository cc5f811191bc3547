"""Validation of every setting, each check keyed by the field it reads and reports (choice
settings hold only their names: the trait and its coercion see to that).

``check_setting(settings, name)`` raises only errors about ``name`` (the panel shows them under
that field); ``invalid_fields`` runs every check and returns every error at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from giffusion_nb.choices import scheduler_class_name
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_keys import parse_key_source
from giffusion_nb.keyframes.curves import check_range, curve_values, parse_curve
from giffusion_nb.keyframes.lora_text import lora_scales, parse_lora, scale_frames
from giffusion_nb.keyframes.plan import MAX_SEED
from giffusion_nb.keyframes.prompts import parse_prompts
from giffusion_nb.keyframes.schedules import check_interpolation_type, parse_frequencies
from giffusion_nb.keyframes.weights import parse_weights
from giffusion_nb.limits import check_json_value, check_text
from giffusion_nb.media.key_frame_pictures import check_key_frame_images
from giffusion_nb.media.motion import motion_schedule
from giffusion_nb.output.encoders import check_fps
from giffusion_nb.pipelines.lora import resolve_source
from giffusion_nb.settings import (
    MANAGED_ARGUMENTS,
    Settings,
    setting_names,
)
from giffusion_nb.validation.animation import ANIMATION_CHECKS
from giffusion_nb.validation.common import (
    MOTION_FIELDS,
    Check,
    _check_range,
    _features,
    _frames_for,
    _frames_or_none,
    _input_file,
    _own_errors,
    _range,
    _text,
)


def check_setting(settings: Settings, name: str) -> None:
    """Validate one setting; a ``SettingsError`` it raises always names ``name``."""
    check = CHECKS.get(name)
    if check is not None:
        check(settings)


def invalid_fields(settings: Settings) -> list[SettingsError]:
    """The error of every invalid setting, in the order the settings are declared."""
    errors = []
    for name in setting_names():
        try:
            check_setting(settings, name)
        except SettingsError as exc:
            errors.append(exc)
    return errors


def validate(settings: Settings) -> None:
    """Raise the first invalid setting's error (``invalid_fields`` gives them all)."""
    errors = invalid_fields(settings)
    if errors:
        raise errors[0]


# --- checks of one field each ---------------------------------------------------------------


def _check_video_input(settings: Settings) -> None:
    if settings.video_input and settings.image_input:
        raise SettingsError(
            "video_input", "set either image_input or video_input, not both (clear one of them)"
        )
    _input_file("video_input", "video")(settings)


def _size(name: str) -> Check:
    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if value is None:
            return
        _check_range(name, value, 16, 4096)
        if value % 8:
            raise SettingsError(name, f"has to be divisible by 8 but is {value}")

    return check


def _motion(name: str) -> Check:
    """One motion string parses at every frame (zoom stays positive)."""

    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if value.strip():
            frames = _frames_for(settings, value, name)
            motion_schedule(frames, **{name: value}, features=_features(settings))

    return _own_errors(name, check)


def _check_perspective_fv(settings: Settings) -> None:
    """The field of view parses and stays in (0, 180); it needs an angle of the flip to act on."""
    _motion("perspective_flip_fv")(settings)
    angles = ("perspective_flip_theta", "perspective_flip_phi", "perspective_flip_gamma")
    if settings.perspective_flip_fv.strip() and not any(
        getattr(settings, name).strip() for name in angles
    ):
        raise SettingsError(
            "perspective_flip_fv",
            "is the field of view of the perspective flip, and no angle of it is set: set "
            "perspective_flip_theta, perspective_flip_phi or perspective_flip_gamma, or clear it",
        )


def _check_negative_prompt(settings: Settings) -> None:
    _text("negative_prompt", allow_empty=True)(settings)
    parse_weights(settings.negative_prompt, field="negative_prompt", what="the negative prompt")


def _check_lora(settings: Settings) -> None:
    """Each line parses, its scale stays in -4..4 at every frame, a local source exists."""
    check_text("lora", settings.lora)
    lines = parse_lora(settings.lora)
    frames = _frames_or_none(settings) or scale_frames(lines)
    _own_errors("lora", lambda s: lora_scales(lines, frames, features=_features(s)))(settings)
    for line in lines:
        resolve_source(line.source, line.line)


def _check_strength(settings: Settings) -> None:
    value = settings.strength
    if isinstance(value, str):
        frames = _frames_for(settings, value, "strength")
        values = curve_values(value, frames, field="strength", features=_features(settings))
        check_range(values, 0.0, 1.0, field="strength")
    else:
        _check_range("strength", value, 0.0, 1.0)


def _check_interpolation_type(settings: Settings) -> None:
    check_interpolation_type(
        settings.interpolation_type, audio_available=bool(settings.audio_input)
    )


def _check_interpolation_args(settings: Settings) -> None:
    """The arguments of the chosen type: sine frequencies, or a curve in [0, 1] per segment."""
    kind, args = settings.interpolation_type, settings.interpolation_args
    if kind == "sine":
        parse_frequencies(args)
    elif kind == "curve":
        parse_curve(args, field="interpolation_args")
        key_frames = _key_frames_or_none(settings)
        features = _features(settings)
        for start, end in itertools.pairwise(key_frames):
            segment = None if features is None else features.shifted(start)
            values = curve_values(
                args, end - start + 1, field="interpolation_args", features=segment
            )
            check_range(values, 0.0, 1.0, field="interpolation_args")


def _key_frames_or_none(settings: Settings) -> list[int]:
    try:
        return [key_frame.frame for key_frame in parse_prompts(settings.prompts)]
    except SettingsError:
        return []


def _check_pacing(settings: Settings) -> None:
    moving = [name for name in MOTION_FIELDS if getattr(settings, name).strip()]
    if settings.pacing == "even" and moving:
        raise SettingsError(
            "pacing",
            f"even pacing probes the travel between key frames, which 2D motion ({moving[0]}) "
            "makes depend on every frame before; choose schedule, or clear the motion",
        )


def _check_scheduler(settings: Settings) -> None:
    if settings.scheduler != "default":
        scheduler_class_name(settings.scheduler)


def _check_scheduler_kwargs(settings: Settings) -> None:
    check_json_value("scheduler_kwargs", settings.scheduler_kwargs)


def _check_pipeline_kwargs(settings: Settings) -> None:
    check_json_value("pipeline_kwargs", settings.pipeline_kwargs)
    managed = sorted(MANAGED_ARGUMENTS.intersection(settings.pipeline_kwargs))
    if managed:
        raise SettingsError(
            "pipeline_kwargs",
            f"{', '.join(managed)} {'is' if len(managed) == 1 else 'are'} set by giffusion_nb "
            "itself; use the matching setting instead",
        )


def _check_video_window(settings: Settings) -> None:
    if settings.video_window not in (None, 0):  # the model's own; 0: the whole animation
        _check_range("video_window", settings.video_window, 2, 1024)


def _check_video_overlap(settings: Settings) -> None:
    overlap, window = settings.video_overlap, settings.video_window
    _check_range("video_overlap", overlap, 0, 1023)
    if window and overlap >= window:
        raise SettingsError(
            "video_overlap", f"must be smaller than video_window ({window}), got {overlap}"
        )


def _call(check: Callable[[Any], Any], name: str) -> Check:
    return lambda settings: check(getattr(settings, name))


CHECKS: dict[str, Check] = {
    "model_id": _text("model_id", allow_empty=False),
    "key_frame_model": _text("key_frame_model", allow_empty=True),
    "pipeline_class": _text("pipeline_class", allow_empty=False),
    "prompts": lambda settings: check_key_frame_images(parse_prompts(settings.prompts)),
    "lora": _check_lora,
    "negative_prompt": _check_negative_prompt,
    "seed": _range("seed", 0, MAX_SEED),
    "strength": _own_errors("strength", _check_strength),
    "scheduler": _check_scheduler,
    "scheduler_kwargs": _check_scheduler_kwargs,
    "pipeline_kwargs": _check_pipeline_kwargs,
    "batch_size": _range("batch_size", 1, 64),
    "video_window": _check_video_window,
    "video_overlap": _check_video_overlap,
    "height": _size("height"),
    "width": _size("width"),
    "num_latent_channels": _range("num_latent_channels", 1, 64),
    "interpolation_type": _check_interpolation_type,
    "interpolation_args": _own_errors("interpolation_args", _check_interpolation_args),
    "pacing": _check_pacing,
    "fps": lambda settings: check_fps(settings.fps, settings.output_format),
    "image_input": _input_file("image_input", "image"),
    "video_input": _check_video_input,
    "audio_input": _input_file("audio_input", "audio"),
    "audio_key_frames": _call(parse_key_source, "audio_key_frames"),
    "zoom": _motion("zoom"),
    "angle": _motion("angle"),
    "translate_x": _motion("translate_x"),
    "translate_y": _motion("translate_y"),
    "perspective_flip_theta": _motion("perspective_flip_theta"),
    "perspective_flip_phi": _motion("perspective_flip_phi"),
    "perspective_flip_gamma": _motion("perspective_flip_gamma"),
    "perspective_flip_fv": _check_perspective_fv,
    "comet_frame_stride": _range("comet_frame_stride", 1, 100_000),
    "workers": _range("workers", 1, 1024),
    **ANIMATION_CHECKS,
}
