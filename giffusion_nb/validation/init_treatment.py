"""The checks of the init treatment's key-frame strings (noise, contrast, anti-blur): each
parses within its limits at every frame, and is read by something (2D motion; for sigma, kernel
and threshold, an anti-blur amount)."""

from __future__ import annotations

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.treatment_schedule import (
    ANTI_BLUR_DETAILS,
    TREATMENT_FIELDS,
    treatment_schedule,
)
from giffusion_nb.settings import Settings
from giffusion_nb.validation.common import (
    MOTION_FIELDS,
    Check,
    _features,
    _frames_for,
    _moves,
    _own_errors,
)


def _treatment(name: str) -> Check:
    def check(settings: Settings) -> None:
        value = getattr(settings, name)
        if not value.strip():
            return
        frames = _frames_for(settings, value, name)
        treatment_schedule(frames, **{name: value}, features=_features(settings))
        if name in ANTI_BLUR_DETAILS and not settings.anti_blur_amount.strip():
            raise SettingsError(
                name,
                "is set, but anti_blur_amount is empty (no anti-blur), so nothing reads it; set "
                "anti_blur_amount, or clear it",
            )
        if not _moves(settings):
            raise SettingsError(
                name,
                "treats each frame's init made from the frame before by 2D motion, and no frame "
                f"moves: set {', '.join(MOTION_FIELDS)}, or clear it",
            )

    return _own_errors(name, check)


TREATMENT_CHECKS: dict[str, Check] = {name: _treatment(name) for name in TREATMENT_FIELDS}
