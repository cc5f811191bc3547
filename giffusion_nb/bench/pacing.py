"""`giffusion-nb bench --pacing`: how evenly a travel moves with the interpolation as scheduled
and with even pacing, and what the probe costs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from giffusion_nb.bench.model_session import loaded_session
from giffusion_nb.keyframes.pacing import evenness, step_changes

PACING_PROMPTS = "0: a red circle\n24: a blue square\n48: a yellow star"


def pacing_figures(
    model_id: str = "builtin:shapes-sd",
    prompts: str = PACING_PROMPTS,
    steps: int = 20,
    size: int = 64,
    device: str | None = None,
    rows: dict[str, list[np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Render the travel as scheduled and evenly paced; each one's evenness (the coefficient of
    variation of the frame-to-frame change, the largest change over the mean) and time. Each
    pacing's frames go into ``rows`` when a dict is given."""
    figures: dict[str, Any] = {}
    for pacing in ("schedule", "even"):
        session = loaded_session(
            model_id, device, prompts, steps, size, batch_size=4, pacing=pacing
        )
        started = time.perf_counter()
        frames = [np.asarray(frame.image, dtype=np.float32) for frame in session.render_frames()]
        seconds = time.perf_counter() - started
        if rows is not None:
            rows[pacing] = frames
        changes = step_changes(frames)
        variation, peak = evenness(changes)
        figures[pacing] = {
            "variation": variation,
            "largest_over_mean": peak,
            "seconds": seconds,
            "changes": [round(float(change), 2) for change in changes],
        }
        if session.pacing is not None:
            figures[pacing]["probe_frames"] = session.pacing.probe_frames
            figures[pacing]["probe_seconds"] = session.pacing.seconds
    return figures


def pacing_report(figures: dict[str, Any]) -> str:
    """What ``bench --pacing`` prints."""
    lines = []
    for pacing, row in figures.items():
        line = (
            f"{pacing:>8}: change per frame varies by {row['variation']:.3f} (std/mean), "
            f"largest {row['largest_over_mean']:.2f}x the mean, {row['seconds']:.1f} s"
        )
        if "probe_frames" in row:
            share = row["probe_seconds"] / max(row["seconds"] - row["probe_seconds"], 1e-9)
            line += (
                f" · probe {row['probe_frames']} frames, {row['probe_seconds']:.1f} s "
                f"(+{share:.0%} on the render)"
            )
        lines.append(line)
    schedule, even = figures["schedule"], figures["even"]
    lines.append(
        f"even / schedule: variation {even['variation'] / max(schedule['variation'], 1e-9):.2f}, "
        f"largest step {even['largest_over_mean'] / schedule['largest_over_mean']:.2f}"
    )
    return "\n".join(lines)


def save_strip(rows: dict[str, list[np.ndarray]], path: Path, every: int = 3) -> Path:
    """Every ``every``-th frame (and the last) of each pacing side by side, one row a pacing
    (scheduled above, evenly paced below), as a PNG."""
    lines = []
    for frames in rows.values():
        picked = list(range(0, len(frames), every))
        if picked[-1] != len(frames) - 1:
            picked.append(len(frames) - 1)
        lines.append(np.concatenate([frames[index] for index in picked], axis=1))
    strip = np.concatenate(lines, axis=0).clip(0, 255).astype(np.uint8)
    path = Path(path)
    Image.fromarray(strip).save(path)
    return path


def run_pacing_bench(
    model_id: str,
    steps: int,
    size: int,
    device: str | None,
    as_json: bool,
    strip: Path | None = None,
) -> None:
    """``bench --pacing``: print the report (and the figures as JSON); with ``strip``, save the
    before/after strip of frames there."""
    rows: dict[str, list[np.ndarray]] = {}
    figures = pacing_figures(model_id, steps=steps, size=size, device=device, rows=rows)
    print(pacing_report(figures))
    if strip is not None:
        print(f"strip of frames: {save_strip(rows, strip)}")
    if as_json:
        print(json.dumps(figures))
