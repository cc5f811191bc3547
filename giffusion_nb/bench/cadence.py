"""`giffusion-nb bench --cadence`: the wall time of a 2D-motion render diffusing every frame
against one with a diffusion cadence (medians of several runs)."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from giffusion_nb.bench.model_session import loaded_session
from giffusion_nb.render.cadence import diffused_frames

PROMPTS = (
    "0: a large red circle on a gray background\n{last}: a large blue square on a gray background"
)
MOTION = {"zoom": "0: (1.02)", "angle": "0: (1.0)", "strength": 0.6}


def cadence_figures(
    model_id: str = "builtin:shapes-sd",
    frames: int = 48,
    cadences: tuple[int, ...] = (1, 4),
    steps: int = 20,
    size: int = 64,
    runs: int = 3,
    device: str | None = None,
    warp: str = "motion",
) -> dict[str, Any]:
    """Render ``frames`` frames of zoom and rotation at each cadence ``runs`` times (the
    pipeline loaded once, outside the timing); each cadence's diffusion calls and median time."""
    prompts = PROMPTS.format(last=frames - 1)
    session = loaded_session(model_id, device, prompts, steps, size, cadence_warp=warp, **MOTION)
    figures: dict[str, Any] = {}
    for cadence in cadences:
        session.settings.diffusion_cadence = cadence
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            count = sum(1 for _ in session.render_frames())
            times.append(time.perf_counter() - started)
        figures[str(cadence)] = {
            "frames": count,
            "diffusion_calls": len(diffused_frames(frames, cadence)),
            "median_seconds": statistics.median(times),
            "seconds": times,
        }
    return figures


def cadence_report(figures: dict[str, Any]) -> str:
    """What ``bench --cadence`` prints."""
    first = next(iter(figures.values()))
    lines = [
        f"cadence {name}: {row['frames']} frames, {row['diffusion_calls']} diffusion calls, "
        f"median {row['median_seconds']:.1f} s of {len(row['seconds'])} runs"
        + (f" ({row['median_seconds'] / first['median_seconds']:.2f}x)" if row is not first else "")
        for name, row in figures.items()
    ]
    return "\n".join(lines)


def run_cadence_bench(
    model_id: str,
    frames: int,
    cadences: list[int],
    steps: int,
    size: int,
    runs: int,
    device: str | None,
    warp: str,
    as_json: bool,
) -> None:
    """``bench --cadence``: print the report (and the figures as JSON)."""
    figures = cadence_figures(model_id, frames, tuple(cadences), steps, size, runs, device, warp)
    print(cadence_report(figures))
    if as_json:
        print(json.dumps(figures))
