"""`bench --gif`'s writer figures on photographic frames: the CPU of one frame's PNG and its
output (GIF or MP4), and the writer's frames/s with 1, 2, … processes, each measured in a
fresh process pinned to that many cores."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from giffusion_nb.bench.photos import photo_frames
from giffusion_nb.output.frame_files import frame_path
from giffusion_nb.output.writers import BackgroundWriter

WRITER_SIZE = 512
WRITER_FRAMES = 36
WRITER_FPS = 12


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (ffmpeg, helpers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def inline_cpu_ms(images: list[Image.Image], output_format: str | None) -> float:
    """CPU per frame of saving ``images`` as PNGs and writing their output (``None``: the
    PNGs alone), in this process (the inline writer; ffmpeg's CPU included)."""
    with tempfile.TemporaryDirectory(prefix="giffusion-bench-writer-") as folder:
        output = None if output_format is None else Path(folder) / f"out.{output_format}"
        started = _cpu_seconds()
        writer = BackgroundWriter(
            Path(folder), len(images), output, output_format or "gif", WRITER_FPS, background=False
        )
        for index, image in enumerate(images):
            writer.submit(index, image)
        writer.close()
        cpu = _cpu_seconds() - started
    return 1000 * cpu / len(images)


def writer_cpu(size: int, output_format: str, frames: int) -> dict[str, float]:
    """CPU per frame of saving ``frames`` photographic frames and writing their output."""
    return {"cpu_ms_per_frame": inline_cpu_ms(photo_frames(size, frames), output_format)}


def writer_fps(size: int, workers: int, frames: int) -> dict[str, float]:
    """The GIF writer's frames/s with ``workers`` processes, this process (which hands the
    frames over) and all it starts pinned to ``workers`` cores. The clock starts once the
    first frame is saved (the processes are up)."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cores[:workers]))
    images = photo_frames(size, frames)
    with tempfile.TemporaryDirectory(prefix="giffusion-bench-writer-") as folder:
        run_dir = Path(folder)
        writer = BackgroundWriter(
            run_dir, frames, run_dir / "out.gif", "gif", WRITER_FPS, workers=workers
        )
        writer.submit(0, images[0])
        while not frame_path(run_dir, 0).exists():
            time.sleep(0.001)
        started = time.perf_counter()
        for index in range(1, frames):
            writer.submit(index, images[index])
        writer.close()
        seconds = time.perf_counter() - started
    return {"fps": (frames - 1) / seconds}


def _fresh(*arguments: str) -> dict[str, float]:
    """One of this module's measurements, in a fresh process; its JSON."""
    command = [sys.executable, "-m", "giffusion_nb.bench.writer", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def worker_counts() -> list[int]:
    """1, 2, … up to the cores this process may use (at most 4)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return list(range(1, min(4, cores or 1) + 1))


def writer_bench(size: int = WRITER_SIZE, frames: int = WRITER_FRAMES) -> dict[str, Any]:
    """CPU per frame with GIF and with MP4 output, and frames/s by writer processes."""
    cpu = {fmt: _fresh("cpu", str(size), fmt, str(frames)) for fmt in ("gif", "mp4")}
    fps = {str(k): _fresh("fps", str(size), str(k), str(frames)) for k in worker_counts()}
    return {"writer_size": size, "writer_cpu": cpu, "writer_fps_by_processes": fps}


def writer_report(results: dict[str, Any]) -> list[str]:
    """The writer's lines of ``bench --gif``."""
    if "writer_cpu" not in results:
        return []
    size = results["writer_size"]
    lines = [
        f"CPU per {size} px photographic frame, its PNG and its output together: "
        + ", ".join(
            f"{row['cpu_ms_per_frame']:.1f} ms with {fmt.upper()}"
            for fmt, row in results["writer_cpu"].items()
        )
    ]
    by_count = results["writer_fps_by_processes"]
    one = by_count["1"]["fps"]
    for count, row in by_count.items():
        lines.append(
            f"GIF writer, {count} process(es) on {count} core(s), {size} px: {row['fps']:6.2f} "
            f"frames/s ({row['fps'] / one:.2f}x one process; {0.8 * int(count):.1f}x wanted)"
        )
    return lines


if __name__ == "__main__":  # python -m giffusion_nb.bench.writer cpu|fps SIZE FORMAT|K FRAMES
    kind, size_text, which, count_text = sys.argv[1:5]
    if kind == "cpu":
        figures = writer_cpu(int(size_text), which, int(count_text))
    else:
        figures = writer_fps(int(size_text), int(which), int(count_text))
    print(json.dumps(figures))
