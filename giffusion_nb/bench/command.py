"""The `bench` command: its options, and the benchmark they pick (speed, memory, GIF, pacing)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from giffusion_nb.choices import OUTPUT_FORMATS
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.published_shapes import published_shapes


def add_bench_parser(commands: Any) -> None:
    """Add `bench` and its options to the CLI's sub-commands."""
    bench = commands.add_parser(
        "bench", help="frames/s of the render session against a bare diffusers loop"
    )
    bench.add_argument("--model", help="model id (default builtin:tiny-sd)")
    shapes = published_shapes()
    bench.add_argument(
        "--shape",
        choices=list(shapes),
        help="a published model's shapes, random weights: "
        + "; ".join(f"{name}: {what}" for name, (what, _) in shapes.items()),
    )
    bench.add_argument("--device", help="cpu, cuda, … (default: the GPU if any)")
    bench.add_argument("--size", type=int, help="frame width and height (64; --gif: 256)")
    bench.add_argument("--steps", type=int, help="denoising steps (default 2)")
    bench.add_argument("--batch-size", default="1", help="one, or several like 1,4 to compare")
    bench.add_argument(
        "--frames",
        help="frames (default 200; --coherence: 120; --cadence: 48); several (200,2000) = memory",
    )
    bench.add_argument("--format", default="gif", choices=OUTPUT_FORMATS, help="output format")
    bench.add_argument("--runs", type=int, default=3, help="timed runs (the median is shown)")
    bench.add_argument("--json", action="store_true", help="print one JSON object last")
    bench.add_argument("--workers", help="Ray worker counts to compare, e.g. 1,2")
    bench.add_argument(
        "--video", action="store_true", help="peak memory streaming input videos of --frames"
    )
    bench.add_argument(
        "--gif",
        action="store_true",
        help="our GIF against a plain Pillow save; its memory for several --frames (100,800)",
    )
    bench.add_argument(
        "--pacing",
        action="store_true",
        help="how evenly a travel on --model (default builtin:shapes-sd) moves, scheduled and "
        "evenly paced, at --steps (default 20)",
    )
    bench.add_argument(
        "--strip", type=Path, help="--pacing: save a PNG of every 3rd frame, scheduled over even"
    )
    bench.add_argument(
        "--video-window",
        type=int,
        help="a video model's frames a call (no overlap): with --frames 17,65 and a window of "
        "17, the peak memory of 1 and 4 windows",
    )
    bench.add_argument(
        "--coherence",
        action="store_true",
        help="drift of the mean LAB colour from frame 0 over a zooming render of --frames "
        "(default 120) on --model (default builtin:shapes-sd), without and with colour "
        "coherence against frame 0, at --steps (default 20)",
    )
    bench.add_argument(
        "--space", default="lab", help="--coherence: the colour space (lab, hsv or rgb)"
    )
    bench.add_argument(
        "--cadence",
        help="wall time of a zooming, turning render of --frames (default 48) on --model "
        "(default builtin:shapes-sd) at these diffusion cadences, e.g. 1,4 (medians of --runs)",
    )
    bench.add_argument(
        "--cadence-warp", default="motion", help="--cadence: motion or flow in-betweens"
    )
    bench.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark the options ask for; returns the exit code."""
    from giffusion_nb.bench.speed import (
        BenchCase,
        check_case,
        compare,
        fps_by_workers,
        memory_by_frames,
        memory_only,
        report,
        video_memory,
        video_memory_by_frames,
    )

    frame_counts = option_numbers("--frames", args.frames or "200")
    batch_sizes = option_numbers("--batch-size", args.batch_size)
    from giffusion_nb.pipelines.devices import resolve_device

    case = BenchCase(
        model_id=args.model or "builtin:tiny-sd",
        shape=args.shape or "",
        device=str(resolve_device(args.device)) if args.device else None,
        size=args.size or 64,
        steps=args.steps or 2,
        frames=frame_counts[0],
        output_format=args.format,
        video_window=args.video_window,
    )
    if args.pacing:
        from giffusion_nb.bench.pacing import run_pacing_bench

        model = args.model or "builtin:shapes-sd"
        steps, size = args.steps or 20, args.size or 64
        run_pacing_bench(model, steps, size, case.device, args.json, args.strip)
        return 0
    if args.coherence:
        from giffusion_nb.bench.coherence import run_coherence_bench

        model = args.model or "builtin:shapes-sd"
        frames = frame_counts[0] if args.frames else 120
        steps, size = args.steps or 20, args.size or 64
        run_coherence_bench(model, frames, steps, size, args.space, case.device, args.json)
        return 0
    if args.cadence:
        from giffusion_nb.bench.cadence import run_cadence_bench

        model = args.model or "builtin:shapes-sd"
        frames = frame_counts[0] if args.frames else 48
        cadences = option_numbers("--cadence", args.cadence)
        steps, size = args.steps or 20, args.size or 64
        run_cadence_bench(
            model,
            frames,
            cadences,
            steps,
            size,
            max(1, args.runs),
            case.device,
            args.cadence_warp,
            args.json,
        )
        return 0
    if args.gif:
        from giffusion_nb.bench.gif import run_gif_bench

        run_gif_bench(frame_counts, args.size, case.device, args.json)
        return 0
    check_case(case, args.runs)
    if args.memory_only:
        if args.video:
            figures = video_memory(case.frames, case.size)
        else:
            figures = memory_only(case, batch_sizes[0])
        print(json.dumps(figures))
        return 0
    if args.video:
        results = {"video_peak_rss_mb_by_frames": video_memory_by_frames(frame_counts, case.size)}
    elif args.workers:
        workers = option_numbers("--workers", args.workers)
        results = {"fps_by_workers": fps_by_workers(case, workers, batch_sizes[0])}
    elif len(frame_counts) > 1:
        results = {"peak_rss_mb_by_frames": memory_by_frames(case, frame_counts, batch_sizes[0])}
    else:
        results = compare(case, batch_sizes, max(1, args.runs))
    print(report(case, results))
    if args.json:
        print(json.dumps(results))
    return 0


def option_numbers(option: str, text: str) -> list[int]:
    """The positive numbers of an option like ``--frames 200,2000``."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SettingsError(
            option, f"expected numbers like 200 or 200,2000, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise SettingsError(option, f"expected positive numbers, got {text!r}")
    return values
