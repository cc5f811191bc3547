"""The init treatment's key-frame strings (noise, contrast, anti-blur) as values at every frame,
each checked against its limits: errors name the setting and the first frame out of them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_terms import FrameFeatures
from giffusion_nb.keyframes.curves import curve_values

# The settings, as declared (the treatment applies contrast, then anti-blur, then noise)
TREATMENT_FIELDS = (
    "noise_schedule",
    "contrast_schedule",
    "anti_blur_amount",
    "anti_blur_sigma",
    "anti_blur_kernel",
    "anti_blur_threshold",
)
ANTI_BLUR_DETAILS = ("anti_blur_sigma", "anti_blur_kernel", "anti_blur_threshold")
MAX_KERNEL = 255


@dataclass(frozen=True)
class Limits:
    """Where a setting's values may lie: ``low`` (inclusive, or exclusive with ``above``) to
    ``high``; ``empty`` is what an empty string means."""

    empty: float
    low: float
    high: float
    above: bool = False

    def describe(self) -> str:
        low = f"above {self.low:g}" if self.above else f"from {self.low:g}"
        return f"a value {low} up to {self.high:g}"


LIMITS = {
    "contrast_schedule": Limits(1.0, 0.0, 10.0, above=True),
    "anti_blur_amount": Limits(0.0, 0.0, 10.0),
    "anti_blur_sigma": Limits(1.0, 0.0, 40.0, above=True),
    "anti_blur_threshold": Limits(0.0, 0.0, 255.0),
    "noise_schedule": Limits(0.0, 0.0, 1.0),
}


@dataclass(frozen=True)
class TreatmentStep:
    """One frame's treatment of its init: ``contrast`` multiplies the pixels; an unsharp mask
    of ``amount`` with a Gaussian of ``sigma`` and ``kernel`` (odd) pixels sharpens where the
    picture differs from its blur by at least ``threshold`` levels; ``noise`` is the standard
    deviation of the Gaussian noise added, in the [-1, 1] sample scale."""

    contrast: float = 1.0
    amount: float = 0.0
    sigma: float = 1.0
    kernel: int = 7
    threshold: float = 0.0
    noise: float = 0.0

    def is_identity(self) -> bool:
        """True when the step leaves the picture unchanged."""
        return self.contrast == 1.0 and self.amount == 0.0 and self.noise == 0.0


@dataclass(frozen=True, eq=False)
class TreatmentSchedule:
    """Every frame's treatment values (read-only arrays, one value a frame)."""

    contrast: np.ndarray
    amount: np.ndarray
    sigma: np.ndarray
    kernel: np.ndarray
    threshold: np.ndarray
    noise: np.ndarray

    def step(self, frame: int) -> TreatmentStep:
        """The treatment of frame ``frame``'s init."""
        if not 0 <= frame < len(self.noise):
            raise IndexError(f"the schedule has {len(self.noise)} frames, no frame {frame}")
        return TreatmentStep(
            contrast=float(self.contrast[frame]),
            amount=float(self.amount[frame]),
            sigma=float(self.sigma[frame]),
            kernel=int(self.kernel[frame]),
            threshold=float(self.threshold[frame]),
            noise=float(self.noise[frame]),
        )

    def is_active(self) -> bool:
        """True when some frame's treatment changes its init."""
        return bool(np.any(self.contrast != 1.0) or np.any(self.amount) or np.any(self.noise))

    @property
    def has_noise(self) -> bool:
        """True when some frame's init gets noise (and so needs its frame's seed)."""
        return bool(np.any(self.noise))


def kernel_for(sigma: float) -> int:
    """The kernel an empty ``anti_blur_kernel`` takes: 2·⌈3σ⌉ + 1 pixels, the Gaussian to 3σ
    on either side (7 for σ = 1)."""
    return 2 * math.ceil(3 * sigma - 1e-9) + 1


def treatment_schedule(
    num_frames: int,
    *,
    contrast_schedule: str = "",
    anti_blur_amount: str = "",
    anti_blur_sigma: str = "",
    anti_blur_kernel: str = "",
    anti_blur_threshold: str = "",
    noise_schedule: str = "",
    features: FrameFeatures | None = None,
) -> TreatmentSchedule:
    """Parse the key-frame strings into every frame's treatment; an empty string leaves its
    part out (contrast 1, no anti-blur, no noise; sigma 1, the kernel from sigma). Audio
    features in them come from ``features``."""
    sigma = _values("anti_blur_sigma", anti_blur_sigma, num_frames, features)
    if anti_blur_kernel.strip():
        kernel = _kernels(anti_blur_kernel, num_frames, features)
    else:
        kernel = np.array([kernel_for(value) for value in sigma], dtype=np.int64)
        kernel.setflags(write=False)
    return TreatmentSchedule(
        contrast=_values("contrast_schedule", contrast_schedule, num_frames, features),
        amount=_values("anti_blur_amount", anti_blur_amount, num_frames, features),
        sigma=sigma,
        kernel=kernel,
        threshold=_values("anti_blur_threshold", anti_blur_threshold, num_frames, features),
        noise=_values("noise_schedule", noise_schedule, num_frames, features),
    )


def _values(field: str, text: str, num_frames: int, features: FrameFeatures | None) -> np.ndarray:
    """One setting's value at every frame, in its limits, read-only."""
    limits = LIMITS[field]
    if not text.strip():
        values = np.full(num_frames, limits.empty, dtype=np.float64)
    else:
        values = curve_values(text, num_frames, field=field, features=features)
        above = values > limits.low if limits.above else values >= limits.low
        bad = np.flatnonzero(~(above & (values <= limits.high)))
        if bad.size:
            frame = int(bad[0])
            raise SettingsError(
                field,
                f"frame {frame} has {float(values[frame]):g}; expected {limits.describe()}",
            )
    values.setflags(write=False)
    return values


def _kernels(text: str, num_frames: int, features: FrameFeatures | None) -> np.ndarray:
    """``anti_blur_kernel``'s odd whole numbers at every frame, read-only."""
    values = curve_values(text, num_frames, field="anti_blur_kernel", features=features)
    odd = (np.abs(values - np.rint(values)) < 1e-9) & (np.rint(values) % 2 == 1)
    bad = np.flatnonzero(~(odd & (values >= 1) & (values <= MAX_KERNEL)))
    if bad.size:
        frame = int(bad[0])
        raise SettingsError(
            "anti_blur_kernel",
            f"frame {frame} has kernel {float(values[frame]):g}; expected an odd whole number "
            f"of pixels from 1 to {MAX_KERNEL} (values between key frames are interpolated: "
            "hold a kernel to the frame before the next, e.g. `0: (3), 9: (3), 10: (5)`)",
        )
    kernels = np.rint(values).astype(np.int64)
    kernels.setflags(write=False)
    return kernels
