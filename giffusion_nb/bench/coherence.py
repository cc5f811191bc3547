"""`giffusion-nb bench --coherence`: how far a long zooming render's colours drift from frame 0,
without colour coherence and with each frame matched to frame 0."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from giffusion_nb.bench.model_session import loaded_session
from giffusion_nb.media.colour import mean_lab

PROMPT = "a large red circle on a gray background"
ZOOM = "0: (1.03)"


def coherence_figures(
    model_id: str = "builtin:shapes-sd",
    frames: int = 120,
    steps: int = 20,
    size: int = 64,
    space: str = "lab",
    device: str | None = None,
) -> dict[str, Any]:
    """Render ``frames`` frames zooming by ``ZOOM`` a frame (strength 0.5) without and with
    colour coherence against frame 0; for each, the distance of every frame's mean L*a*b*
    colour from frame 0's (its mean over the frames and at the last frame) and the time."""
    prompts = f"0: {PROMPT}\n{frames - 1}: {PROMPT}"
    figures: dict[str, Any] = {}
    for coherence in ("none", "first"):
        session = loaded_session(
            model_id,
            device,
            prompts,
            steps,
            size,
            strength=0.5,
            zoom=ZOOM,
            color_coherence=coherence,
            color_coherence_space=space,
        )
        started = time.perf_counter()
        colours = [mean_lab(frame.image) for frame in session.render_frames()]
        seconds = time.perf_counter() - started
        drift = np.linalg.norm(np.array(colours) - colours[0], axis=1)
        figures[coherence] = {
            "mean_drift": float(drift[1:].mean()),
            "last_drift": float(drift[-1]),
            "max_drift": float(drift.max()),
            "seconds": seconds,
        }
    return figures


def coherence_report(figures: dict[str, Any]) -> str:
    """What ``bench --coherence`` prints."""
    lines = [
        f"{name:>6}: mean LAB colour from frame 0: mean {row['mean_drift']:.2f}, last frame "
        f"{row['last_drift']:.2f}, largest {row['max_drift']:.2f} ({row['seconds']:.1f} s)"
        for name, row in figures.items()
    ]
    none, first = figures["none"], figures["first"]
    lines.append(
        f"first / none: mean drift {first['mean_drift'] / max(none['mean_drift'], 1e-9):.2f}, "
        f"last frame {first['last_drift'] / max(none['last_drift'], 1e-9):.2f}"
    )
    return "\n".join(lines)


def run_coherence_bench(
    model_id: str, frames: int, steps: int, size: int, space: str, device: str | None, as_json: bool
) -> None:
    """``bench --coherence``: print the report (and the figures as JSON)."""
    figures = coherence_figures(model_id, frames, steps, size, space, device)
    print(coherence_report(figures))
    if as_json:
        print(json.dumps(figures))
