"""Deforum's treatment of a 2D-motion frame's init (the warped previous frame): contrast, then
anti-blur (an unsharp mask), then Gaussian noise, each picture kept within 0..255."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image

from giffusion_nb.keyframes.treatment_schedule import TreatmentStep

SAMPLE_SCALE = 127.5  # pixel levels per unit of the [-1, 1] sample scale


def adjust_contrast(pixels: np.ndarray, contrast: float) -> np.ndarray:
    """``pixels`` (float, 0..255) times ``contrast``, clipped (0.5 halves every level)."""
    return np.clip(pixels * np.float32(contrast), 0.0, 255.0)


def unsharp_mask(
    pixels: np.ndarray, amount: float, sigma: float, kernel: int, threshold: float = 0.0
) -> np.ndarray:
    """``pixels`` (float32 ``(H, W, C)``, 0..255) sharpened by ``amount``: ``(1 + amount)``
    times the picture less ``amount`` times its Gaussian blur (OpenCV, ``kernel`` × ``kernel``
    pixels, ``sigma``), clipped; pixels that differ from the blur by less than ``threshold``
    levels stay as they were."""
    if amount == 0.0:
        return pixels
    blurred = cv2.GaussianBlur(pixels, (kernel, kernel), sigma)
    sharpened = pixels + np.float32(amount) * (pixels - blurred)
    if threshold > 0.0:
        sharpened = np.where(np.abs(pixels - blurred) < threshold, pixels, sharpened)
    return np.clip(sharpened, 0.0, 255.0)


def add_noise(pixels: np.ndarray, amount: float, generator: torch.Generator) -> np.ndarray:
    """``pixels`` (float, 0..255) plus Gaussian noise of standard deviation ``amount`` in the
    [-1, 1] sample scale (``amount`` · 127.5 levels) drawn from ``generator`` on the CPU,
    clipped."""
    if amount == 0.0:
        return pixels
    noise = torch.randn(pixels.shape, generator=generator, dtype=torch.float32).numpy()
    return np.clip(pixels + noise * np.float32(amount * SAMPLE_SCALE), 0.0, 255.0)


def treat(image: Image.Image, step: TreatmentStep, generator: torch.Generator) -> Image.Image:
    """``image`` with ``step``'s contrast, anti-blur and noise, as an RGB image (the same
    image when the step changes nothing)."""
    if step.is_identity():
        return image
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    pixels = adjust_contrast(pixels, step.contrast)
    pixels = unsharp_mask(pixels, step.amount, step.sigma, step.kernel, step.threshold)
    pixels = add_noise(pixels, step.noise, generator)
    return Image.fromarray(np.rint(pixels).astype(np.uint8), mode="RGB")
