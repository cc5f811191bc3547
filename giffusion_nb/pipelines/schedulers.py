"""Swap a pipeline's noise scheduler for a render (`from_config` plus keyword options)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from giffusion_nb.choices import scheduler_class_name
from giffusion_nb.errors import SettingsError


def build_scheduler(
    base: Any, name: str, options: dict[str, Any], num_inference_steps: int | None = None
) -> Any:
    """A scheduler from ``base``'s config: class ``name`` (``default`` keeps base's class) with
    ``options`` applied; unknown options are errors that list the accepted ones.

    With ``num_inference_steps``, a fresh copy first runs a whole denoising loop on a tiny
    sample, so options that only fail while rendering (an offset past the trained timesteps,
    too few of them for the steps) are a ``SettingsError`` naming ``scheduler_kwargs`` before
    any frame."""
    import diffusers

    cls = type(base) if name == "default" else getattr(diffusers, scheduler_class_name(name))
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise SettingsError(
            "scheduler_kwargs",
            f"{cls.__name__} has no option {', '.join(map(repr, unknown))}; its options are "
            + ", ".join(sorted(accepted)),
        )
    try:
        scheduler = cls.from_config(base.config, **options)
    except Exception as exc:
        raise SettingsError(
            "scheduler_kwargs", f"{cls.__name__} rejected the options: {type(exc).__name__}: {exc}"
        ) from exc
    if num_inference_steps is not None:
        try:
            _dry_run(cls.from_config(base.config, **options), num_inference_steps)
        except Exception as exc:
            raise SettingsError(
                "scheduler_kwargs",
                f"{cls.__name__} with these options fails at {num_inference_steps} steps: "
                f"{type(exc).__name__}: {exc}",
            ) from exc
    return scheduler


def _dry_run(scheduler: Any, num_inference_steps: int) -> None:
    """Every step of a denoising loop on a 1x4x2x2 zero sample (microseconds a step), and
    the noising of an init image at the first timestep, as image-to-image does."""
    import torch

    scheduler.set_timesteps(num_inference_steps)
    sample = torch.zeros(1, 4, 2, 2)
    extra = {}
    if "generator" in inspect.signature(scheduler.step).parameters:
        extra["generator"] = torch.Generator().manual_seed(0)
    if hasattr(scheduler, "add_noise"):
        scheduler.add_noise(sample, sample, scheduler.timesteps[:1])
    for timestep in scheduler.timesteps:
        model_input = scheduler.scale_model_input(sample, timestep)
        sample = scheduler.step(torch.zeros_like(model_input), timestep, sample, **extra)[0]


@contextmanager
def use_scheduler(pipes: Sequence[Any], scheduler: Any | None) -> Iterator[None]:
    """Render with ``scheduler`` (``None`` keeps each pipeline's); each pipeline gets its own
    scheduler back afterwards."""
    originals = [pipe.scheduler for pipe in pipes]
    if scheduler is not None:
        for pipe in pipes:
            pipe.scheduler = scheduler
    try:
        yield
    finally:
        for pipe, original in zip(pipes, originals, strict=True):
            pipe.scheduler = original
