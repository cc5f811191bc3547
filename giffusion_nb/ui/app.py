"""build_app: the dashboard for a notebook cell or Voilà, on a model from GIFFUSION_MODEL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.panel import Panel

# Quick, small settings for the built-in offline model; real checkpoints keep the defaults.
BUILTIN_DEFAULTS = {
    "prompts": "0: a red circle\n12: a blue square\n24: a green star",
    "num_inference_steps": 12,
    "guidance_scale": 5.0,
    "batch_size": 4,
    "fps": 8.0,
    "inspiration_model": "",  # offline: the built-in word lists
}


def build_app(
    model_id: str | None = None,
    *,
    output_dir: str | Path | None = None,
    session: RenderSession | None = None,
    **settings: Any,
) -> Panel:
    """The dashboard panel on a new session (or ``session``); display it as the cell's value.

    ``model_id`` defaults to ``$GIFFUSION_MODEL`` or ``builtin:shapes-sd``, ``output_dir`` to
    ``$GIFFUSION_OUTPUT_DIR`` or ``outputs``; ``settings`` override any setting by name.
    """
    if session is None:
        output_dir = output_dir or os.environ.get("GIFFUSION_OUTPUT_DIR", "outputs")
        model_id = model_id or os.environ.get("GIFFUSION_MODEL", "builtin:shapes-sd")
        defaults = BUILTIN_DEFAULTS if model_id.startswith("builtin:") else {}
        session = RenderSession(
            output_dir=output_dir, model_id=model_id, **{**defaults, **settings}
        )
    return Panel(session)
