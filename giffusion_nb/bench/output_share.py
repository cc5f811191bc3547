"""The output path's share of a timed render: the CPU that saving the session's own frames
and writing their output costs, and the best session/bare ratio that leaves on a CPU, where
the model uses every core and the writer works in line (``RenderSession`` on the CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from giffusion_nb.bench.writer import inline_cpu_ms

# At most this many of the session's frames are written again (the figure is per frame).
SHARE_FRAMES = 48


def output_share(run_dir: Path, output_format: str, on_cpu: bool) -> dict[str, Any]:
    """CPU ms per frame of the PNGs alone and of the PNGs with the output, measured on the
    frames of ``run_dir``; ``on_cpu`` adds, per batch size, the most the session can reach."""
    paths = sorted((Path(run_dir) / "frames").glob("*.png"))[:SHARE_FRAMES]
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return {
        "png_cpu_ms_per_frame": inline_cpu_ms(images, None),
        "output_cpu_ms_per_frame": inline_cpu_ms(images, output_format),
        "writer_in_line": on_cpu,
    }


def add_bounds(results: dict[str, Any]) -> None:
    """Each batch size's best ratio with the writer in line: the bare loop's time a frame
    against that time plus the output's CPU (the two cannot overlap when the model keeps
    every core busy), and the same with the PNGs alone."""
    for row in results["by_batch_size"].values():
        bare_ms = 1000 / row["bare_fps"]
        row["bound_in_line"] = bare_ms / (bare_ms + results["output_cpu_ms_per_frame"])
        row["bound_png_only"] = bare_ms / (bare_ms + results["png_cpu_ms_per_frame"])


def share_lines(results: dict[str, Any], output_format: str) -> list[str]:
    """The output path's lines of ``bench``'s report."""
    if "output_cpu_ms_per_frame" not in results:
        return []
    lines = [
        f"output path, in line: {results['output_cpu_ms_per_frame']:.2f} ms of CPU a frame for "
        f"the PNG and the {output_format.upper()} ({results['png_cpu_ms_per_frame']:.2f} ms for "
        "the PNG alone)"
    ]
    if not results["writer_in_line"]:
        lines[0] += "; on this device the writer works in processes of its own"
        return lines
    for batch_size, row in results["by_batch_size"].items():
        lines.append(
            f"batch {batch_size:>3}: with the model on every core the session can reach at most "
            f"{row['bound_in_line']:.3f} of the bare loop ({row['bound_png_only']:.3f} with "
            f"the PNGs alone), at {1000 / row['bare_fps']:.1f} ms a frame"
        )
    return lines
