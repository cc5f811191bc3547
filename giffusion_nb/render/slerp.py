"""Spherical linear interpolation (slerp) of tensors, batched, on their own device and dtype."""

from __future__ import annotations

import torch

DOT_THRESHOLD = 0.9995


def slerp(t: torch.Tensor | float, v0: torch.Tensor, v1: torch.Tensor) -> torch.Tensor:
    """Interpolate from ``v0`` (t=0) to ``v1`` (t=1) along the great circle.

    ``v0`` and ``v1`` have shape ``(batch, ...)`` (or no batch dimension with a float ``t``);
    ``t`` is a float or a tensor of shape ``(batch,)``. The angle is measured between the
    unit-normalised vectors and applied to the unnormalised ones; nearly parallel vectors
    (``|dot| > 0.9995``) fall back to linear interpolation. Computed in float32 at least,
    returned in ``v0``'s dtype on ``v0``'s device.
    """
    if v0.shape != v1.shape:
        raise ValueError(f"slerp needs tensors of the same shape, got {v0.shape} and {v1.shape}")
    dtype = v0.dtype
    compute = torch.promote_types(dtype, torch.float32)
    batched = torch.is_tensor(t) and t.ndim == 1
    a = v0.to(compute) if batched else v0.to(compute).unsqueeze(0)
    b = v1.to(compute) if batched else v1.to(compute).unsqueeze(0)
    flat_a, flat_b = a.flatten(1), b.flatten(1)
    t = torch.as_tensor(t, dtype=compute, device=v0.device).reshape(-1, 1)

    dot = (flat_a / flat_a.norm(dim=1, keepdim=True)) * (flat_b / flat_b.norm(dim=1, keepdim=True))
    dot = dot.sum(dim=1, keepdim=True).clamp(-1.0, 1.0)
    theta = torch.arccos(dot)
    sin_theta = torch.sin(theta)
    parallel = dot.abs() > DOT_THRESHOLD
    safe_sin = torch.where(parallel, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(parallel, 1.0 - t, torch.sin((1.0 - t) * theta) / safe_sin)
    w1 = torch.where(parallel, t, torch.sin(t * theta) / safe_sin)
    out = (w0 * flat_a + w1 * flat_b).reshape(a.shape).to(dtype)
    return out if batched else out.squeeze(0)
