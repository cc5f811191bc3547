"""Swap a pipeline's noise scheduler for a render (`from_config` plus keyword options)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.settings import scheduler_class_name


def build_scheduler(base: Any, name: str, options: dict[str, Any]) -> Any:
    """A scheduler from ``base``'s config: class ``name`` (``default`` keeps base's class) with
    ``options`` applied; unknown options are errors that list the accepted ones."""
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
        return cls.from_config(base.config, **options)
    except Exception as exc:
        raise SettingsError(
            "scheduler_kwargs", f"{cls.__name__} rejected the options: {type(exc).__name__}: {exc}"
        ) from exc


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
