"""Where a call's key-frame noise can enter a diffusers pipeline, for families to choose from:
the noise an image-to-image scheduler mixes into the init latents, or the noise a pipeline draws
itself inside ``prepare_latents`` (at whatever shape it draws: packing, channels, frame axis and
``init_noise_sigma`` stay the pipeline's business). Each borrows one attribute for one call and
always gives it back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

# Our noise at a drawn shape, or None for a draw that is not the key frames' (drawn as before).
Supply = Callable[[tuple[int, ...]], torch.Tensor | None]


@contextmanager
def scheduler_noise(pipe: Any, method: str, position: int, noise: torch.Tensor) -> Iterator[None]:
    """During a call, ``pipe.scheduler.<method>`` (``add_noise(samples, noise, timesteps)``:
    position 1; ``scale_noise(sample, timestep, noise)``: position 2) noises with ``noise``
    instead of the pipeline's own random draw."""
    scheduler = pipe.scheduler
    original = getattr(scheduler, method)

    def noised(*args: Any) -> torch.Tensor:
        args = list(args)
        args[position] = matching(noise, args[position])
        return original(*args)

    setattr(scheduler, method, noised)
    try:
        yield
    finally:
        delattr(scheduler, method)  # the class's method shows again


@contextmanager
def drawn_noise(pipe: Any, supply: Supply) -> Iterator[None]:
    """During a call, the noise ``pipe.prepare_latents`` draws with diffusers' ``randn_tensor``
    is ``supply(shape)`` instead (where that is ``None``, the pipeline's own draw: the noise of
    a conditioning image); a call whose key-frame noise is never drawn is an error (its frames
    would not travel). Only ``prepare_latents``'s own draws are replaced, nothing else."""
    prepare = type(pipe).prepare_latents
    names = prepare.__globals__  # the module that defines prepare_latents looks randn_tensor up
    if "randn_tensor" not in names:
        raise RuntimeError(
            f"{type(pipe).__name__}.prepare_latents does not draw its noise with diffusers' "
            "randn_tensor, so giffusion_nb cannot give it the key frames' noise; please report this"
        )
    drawn: list[tuple[int, ...]] = []

    original = names["randn_tensor"]

    def supplied(shape: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        noise = supply(tuple(shape))
        if noise is None:
            return original(shape, *args, **kwargs)
        drawn.append(tuple(shape))
        dtype, device = kwargs.get("dtype"), kwargs.get("device")
        return noise.to(device=device or noise.device, dtype=dtype or noise.dtype)

    def prepare_latents(*args: Any, **kwargs: Any) -> Any:
        names["randn_tensor"] = supplied
        try:
            return prepare(pipe, *args, **kwargs)
        finally:
            names["randn_tensor"] = original

    pipe.prepare_latents = prepare_latents  # shadows the class's method for this call
    try:
        yield
    finally:
        del pipe.prepare_latents
    if not drawn:
        raise RuntimeError(
            f"{type(pipe).__name__} drew no noise in prepare_latents, so the key frames' noise "
            "did not reach it; please report this"
        )


def matching(noise: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """Our noise in place of ``drawn``: same shape, device and dtype, or an error."""
    if noise.shape != drawn.shape:
        raise RuntimeError(
            f"the pipeline drew noise of shape {tuple(drawn.shape)}, the key frames' noise has "
            f"{tuple(noise.shape)}"
        )
    return noise.to(device=drawn.device, dtype=drawn.dtype)
