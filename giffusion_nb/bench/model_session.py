"""A render session on a named model in a fresh temporary folder, its pipeline loaded before any
timing starts: what the toolkit's benchmarks (coherence, pacing, cadence) render with."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession


def loaded_session(
    model_id: str, device: str | None, prompts: str, steps: int, size: int, **values: Any
) -> RenderSession:
    """A session rendering ``prompts`` on ``model_id`` at ``size`` px square, ``steps`` steps,
    guidance 5, with ``values`` as further settings; the pipeline is loaded."""
    from giffusion_nb.render.session import RenderSession  # torch only when a bench runs

    session = RenderSession(
        output_dir=tempfile.mkdtemp(prefix="giffusion-bench-"),
        device=device,
        model_id=model_id,
        prompts=prompts,
        num_inference_steps=steps,
        guidance_scale=5.0,
        height=size,
        width=size,
        **values,
    )
    session.load_pipeline()
    return session
