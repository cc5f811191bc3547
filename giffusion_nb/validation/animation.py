"""The checks of the animator's toolkit's settings (colour coherence, cadence, frame
interpolation, seed behaviour, the init treatment), each keyed by the field it reports."""

from __future__ import annotations

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.frame_numbers import NUMBER_LIMITS, setting_numbers
from giffusion_nb.keyframes.seeds import scheduled_seeds
from giffusion_nb.output.encoders import check_fps
from giffusion_nb.output.in_betweens import output_fps
from giffusion_nb.settings import Settings
from giffusion_nb.validation.common import (
    Check,
    _check_range,
    _features,
    _frames_for,
    _input_file,
    _moves,
    _own_errors,
)
from giffusion_nb.validation.init_treatment import TREATMENT_CHECKS


def _check_color_coherence(settings: Settings) -> None:
    if settings.color_coherence == "previous" and not _moves(settings):
        raise SettingsError(
            "color_coherence",
            "`previous` matches each frame to the one it was made from, which needs 2D motion "
            "(zoom, angle, translate_x or translate_y); without motion frames are made "
            "independently, so choose first or image",
        )


def _check_color_coherence_image(settings: Settings) -> None:
    if settings.color_coherence == "image" and not settings.color_coherence_image.strip():
        raise SettingsError(
            "color_coherence_image",
            "color_coherence is `image`: choose the image whose colours frames are matched to",
        )
    if settings.color_coherence != "image" and settings.color_coherence_image.strip():
        raise SettingsError(
            "color_coherence_image",
            f"is set, but color_coherence is `{settings.color_coherence}`, which does not read "
            "it; choose image, or clear it",
        )
    _input_file("color_coherence_image", "image")(settings)


def _check_diffusion_cadence(settings: Settings) -> None:
    _check_range("diffusion_cadence", settings.diffusion_cadence, 1, 100)
    if settings.diffusion_cadence == 1 or _moves(settings):
        return
    if settings.cadence_warp != "flow":
        raise SettingsError(
            "cadence_warp",
            f"a cadence of {settings.diffusion_cadence} without 2D motion makes the frames "
            "between by optical flow: choose flow (motion warps along zoom, angle, translate_x "
            "and translate_y or a perspective flip, and no frame moves)",
        )


def _check_interpolate_frames(settings: Settings) -> None:
    count = settings.interpolate_frames
    _check_range("interpolate_frames", count, 0, 15)
    try:
        check_fps(settings.fps, settings.output_format)
    except SettingsError:
        return  # fps says what is wrong
    try:
        check_fps(output_fps(settings.fps, count), settings.output_format)
    except SettingsError as exc:
        raise SettingsError(
            "interpolate_frames",
            f"{count} in-betweens a frame make the output {float(settings.fps):g} x "
            f"{count + 1} frames/s: {exc.message}, or use fewer in-betweens",
        ) from None


def _check_seed_behavior(settings: Settings) -> None:
    if settings.use_fixed_latent and settings.seed_behavior not in ("iter", "fixed"):
        raise SettingsError(
            "seed_behavior",
            f"use_fixed_latent gives every key frame the seed's noise, so `"
            f"{settings.seed_behavior}` would change nothing; turn one of them off",
        )


def _check_seed_iter_n(settings: Settings) -> None:
    _check_range("seed_iter_n", settings.seed_iter_n, 1, 1_000_000)
    if settings.seed_iter_n != 1 and settings.seed_behavior != "iter":
        raise SettingsError(
            "seed_iter_n",
            f"is {settings.seed_iter_n}, but only seed_behavior `iter` reads it (it is "
            f"`{settings.seed_behavior}`); choose iter, or 1",
        )


def _check_seed_schedule(settings: Settings) -> None:
    text = settings.seed_schedule
    if settings.seed_behavior != "schedule":
        if text.strip():
            raise SettingsError(
                "seed_schedule",
                f"is set, but seed_behavior is `{settings.seed_behavior}`, which does not read "
                "it; choose schedule, or clear it",
            )
        return
    frames = _frames_for(settings, text, "seed_schedule") if text.strip() else 1
    scheduled_seeds(text, frames, _features(settings))


def _per_frame(name: str) -> Check:
    """A number setting that may be a key-frame string: in its ``NUMBER_LIMITS`` at every
    frame."""

    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        frames = _frames_for(settings, value, name) if isinstance(value, str) else 1
        features = _features(settings) if isinstance(value, str) else None
        setting_numbers(settings, name, frames, features)

    return _own_errors(name, check)


ANIMATION_CHECKS: dict[str, Check] = {
    **{name: _per_frame(name) for name in NUMBER_LIMITS},
    "color_coherence": _check_color_coherence,
    "color_coherence_image": _check_color_coherence_image,
    "diffusion_cadence": _check_diffusion_cadence,
    "interpolate_frames": _check_interpolate_frames,
    "seed_behavior": _check_seed_behavior,
    "seed_iter_n": _check_seed_iter_n,
    "seed_schedule": _own_errors("seed_schedule", _check_seed_schedule),
    **TREATMENT_CHECKS,
}
