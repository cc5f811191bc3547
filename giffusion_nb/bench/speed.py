"""`giffusion-nb bench`: frames/s of the full render session against a bare diffusers loop,
time to the first frame, and peak memory against the number of frames."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from giffusion_nb.bench.flops import add_tflops, frame_flops
from giffusion_nb.bench.memory import peak_rss_mb
from giffusion_nb.bench.output_share import add_bounds, output_share, share_lines
from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import MAX_FRAME
from giffusion_nb.output.writers import writes_in_line
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.pipelines.families.base import TEXT, FrameSize, TravelledNoise
from giffusion_nb.pipelines.load import default_device, load_pipeline
from giffusion_nb.render.session import RenderSession


@dataclass(frozen=True)
class BenchCase:
    """What every timed render shares."""

    model_id: str = "builtin:tiny-sd"
    shape: str = ""  # a published model's shapes with random weights (published_shapes)
    device: str | None = None
    size: int = 64
    steps: int = 2
    frames: int = 200
    output_format: str = "gif"
    guidance_scale: float = 5.0
    video_window: int | None = None  # a video model's frames a call (None: the model's own)


def check_case(case: BenchCase, runs: int = 1) -> None:
    """The bench's own arguments, checked first: errors name the option (``--size``), never a
    setting the bench builds from it."""
    if not 16 <= case.size <= 4096 or case.size % 8:
        raise SettingsError(
            "--size", f"expected a multiple of 8 between 16 and 4096 pixels, got {case.size}"
        )
    if not 1 <= case.steps <= 1000:
        raise SettingsError("--steps", f"expected 1 to 1000 denoising steps, got {case.steps}")
    if not 1 <= case.frames <= MAX_FRAME:
        raise SettingsError("--frames", f"expected 1 to {MAX_FRAME} frames, got {case.frames}")
    if runs < 1:
        raise SettingsError("--runs", f"expected at least 1 timed run, got {runs}")


def load_bench_pipeline(case: BenchCase) -> Any:
    """The pipeline to time: a model by id, or one with a published model's shapes built from
    config (random weights, half precision on a GPU)."""
    device = torch.device(case.device) if case.device else default_device()
    if not case.shape:
        return load_pipeline(case.model_id, device=device)
    from giffusion_nb.pipelines.published_shapes import published_shapes

    _, build = published_shapes()[case.shape]
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    with torch.device(device):  # a large model's float32 weights are made where they run
        pipe = build()
    pipe = pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_loop(pipe: Any, case: BenchCase, batch_size: int) -> tuple[float, float]:
    """frames/s and seconds to the first frame of a plain loop over the pipeline that keeps
    nothing: one prompt encoded once, fresh noise per batch."""
    device = pipe.device
    family = family_of(pipe)
    negatives = [""] if family.uses_guidance(case.guidance_scale, {}) else None
    with torch.no_grad():
        prompts = family.encode_prompts(pipe, ["a red circle"], negatives, device)
    generator = torch.Generator("cpu").manual_seed(0)
    size = FrameSize(case.size, case.size, family.latent_channels(pipe))
    started, first = time.perf_counter(), None
    for start in range(0, case.frames, batch_size):
        count = min(batch_size, case.frames - start)
        arguments = {
            name: tensor.expand(count, *tensor.shape[1:]) for name, tensor in prompts.items()
        }

        def fresh(shape: tuple[int, ...], count: int = count) -> torch.Tensor:
            return torch.randn((count, *shape), generator=generator).to(device, pipe.dtype)

        noise = TravelledNoise(fresh, count)
        entry = family.noise_entry(pipe, TEXT, noise, size, arguments)
        with torch.no_grad(), entry:
            pipe(
                **arguments,
                num_inference_steps=case.steps,
                guidance_scale=case.guidance_scale,
                height=case.size,
                width=case.size,
                output_type="pil",
            )
        first = first or time.perf_counter() - started
    return case.frames / (time.perf_counter() - started), first


def bench_session(case: BenchCase, batch_size: int, **values: Any) -> RenderSession:
    """A session rendering ``case`` (two key frames, one for a single frame) into a fresh
    temporary folder."""
    last = f"\n{case.frames - 1}: a blue square" if case.frames > 1 else ""
    return RenderSession(
        output_dir=Path(tempfile.mkdtemp(prefix="giffusion-bench-")),
        prompts=f"0: a red circle{last}",
        num_inference_steps=case.steps,
        guidance_scale=case.guidance_scale,
        height=case.size,
        width=case.size,
        batch_size=batch_size,
        output_format=case.output_format,
        video_window=case.video_window,
        video_overlap=0,
        **values,
    )


def session_render(pipe: Any, case: BenchCase, batch_size: int) -> tuple[float, float, Path]:
    """frames/s (to the output written) and seconds to the first frame of the render session."""
    session = bench_session(case, batch_size, device=pipe.device, pipeline=pipe)
    first: list[float] = []
    started = time.perf_counter()
    session.observe(
        lambda _change: first or first.append(time.perf_counter() - started), "frames_done"
    )
    session.render()
    return case.frames / (time.perf_counter() - started), first[0], Path(session.run_dir)


def compare(case: BenchCase, batch_sizes: list[int], runs: int) -> dict[str, Any]:
    """Median frames/s of both loops per batch size, and whether the frames agree."""
    pipe = load_bench_pipeline(case)
    warm = BenchCase(**{**case.__dict__, "frames": max(batch_sizes)})
    bare_loop(pipe, warm, max(batch_sizes))  # first calls allocate and pick kernels
    results: dict[str, Any] = {"by_batch_size": {}}
    run_dirs = []
    for batch_size in batch_sizes:
        bare, session, first = [], [], []
        for _ in range(runs):
            bare.append(bare_loop(pipe, case, batch_size)[0])
            fps, first_frame, run_dir = session_render(pipe, case, batch_size)
            session.append(fps)
            first.append(first_frame)
        run_dirs.append(run_dir)
        results["by_batch_size"][str(batch_size)] = {
            "bare_fps": statistics.median(bare),
            "session_fps": statistics.median(session),
            "ratio": statistics.median(session) / statistics.median(bare),
            "first_frame_s": statistics.median(first),
        }
    one = BenchCase(**{**case.__dict__, "frames": 1})
    flops = frame_flops(lambda: bare_loop(pipe, one, 1))  # its prompt encoding included
    add_tflops(results, flops, pipe.device)
    results.update(output_share(run_dirs[-1], case.output_format, writes_in_line(pipe.device.type)))
    if results["writer_in_line"]:
        add_bounds(results)
    results.update(results["by_batch_size"][str(batch_sizes[0])])
    if len(run_dirs) > 1:
        results["max_pixel_difference_across_batch_sizes"] = _max_difference(run_dirs)
    results["peak_rss_mb"] = peak_rss_mb()
    results["device"] = str(pipe.device)
    results["pipeline"] = type(pipe).__name__
    return results


def fps_by_workers(case: BenchCase, counts: list[int], batch_size: int) -> dict[str, float]:
    """frames/s of the session on Ray with each number of workers (worker start-up included:
    each worker loads the pipeline once)."""
    from giffusion_nb.render.ray import render_with_ray

    fps = {}
    for workers in counts:
        session = bench_session(case, batch_size, device=case.device, model_id=case.model_id)
        started = time.perf_counter()
        render_with_ray(session, workers=workers)
        fps[str(workers)] = case.frames / (time.perf_counter() - started)
    return fps


def video_memory(frames: int, size: int) -> dict[str, float]:
    """Peak RSS after streaming every frame of a generated ``frames``-long video through the
    video-input path (run in a fresh process by ``video_memory_by_frames``)."""
    from PIL import Image

    from giffusion_nb.output.encoders import open_output
    from giffusion_nb.render.frame_inputs import FrameImages

    path = Path(tempfile.mkdtemp(prefix="giffusion-bench-")) / "input.mp4"
    encoder = open_output(path, "mp4", 24)
    for index in range(frames):
        encoder.append(Image.new("RGB", (size, size), (index % 256, 80, 160)))
    encoder.close()
    baseline = peak_rss_mb()
    inputs = FrameImages(video_input=str(path), num_frames=frames)
    for index in range(frames):
        inputs[index]
    inputs.close()
    return {"peak_rss_mb": peak_rss_mb(), "before_reading_mb": baseline}


def memory_by_frames(case: BenchCase, frame_counts: list[int], batch_size: int) -> dict[str, float]:
    """Peak RSS of one session render per frame count, each in a fresh process."""
    peaks = {}
    for frames in frame_counts:
        command = [
            sys.executable, "-m", "giffusion_nb.cli", "bench", "--memory-only",
            "--frames", str(frames), "--batch-size", str(batch_size), "--size", str(case.size),
            "--steps", str(case.steps), "--format", case.output_format, "--model", case.model_id,
        ]  # fmt: skip
        if case.device:
            command += ["--device", case.device]
        if case.shape:
            command += ["--shape", case.shape]
        if case.video_window is not None:
            command += ["--video-window", str(case.video_window)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        peaks[str(frames)] = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mb"]
    return peaks


def video_memory_by_frames(frame_counts: list[int], size: int) -> dict[str, float]:
    """Peak RSS of streaming generated videos of each length, each in a fresh process."""
    peaks = {}
    for frames in frame_counts:
        command = [
            sys.executable, "-m", "giffusion_nb.cli", "bench", "--memory-only", "--video",
            "--frames", str(frames), "--size", str(size),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        peaks[str(frames)] = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mb"]
    return peaks


def memory_only(case: BenchCase, batch_size: int) -> dict[str, float]:
    """One session render; its process's peak RSS (run by ``memory_by_frames``)."""
    session_render(load_bench_pipeline(case), case, batch_size)
    return {"peak_rss_mb": peak_rss_mb()}


def _max_difference(run_dirs: list[Path]) -> float:
    from PIL import Image

    worst = 0.0
    reference = sorted((run_dirs[0] / "frames").glob("*.png"))
    for other in run_dirs[1:]:
        for path in reference:
            a = np.asarray(Image.open(path), dtype=np.int16)
            b = np.asarray(Image.open(other / "frames" / path.name), dtype=np.int16)
            worst = max(worst, float(np.abs(a - b).max()))
    return worst


def report(case: BenchCase, results: dict[str, Any]) -> str:
    """The human-readable summary ``bench`` prints."""
    where = f" on {results['device']}" if "device" in results else ""
    lines = [
        f"{results.get('pipeline', case.shape or case.model_id)}{where}: "
        f"{case.size}x{case.size}, {case.steps} steps, {case.frames} frames, {case.output_format}",
    ]
    for batch_size, row in results.get("by_batch_size", {}).items():
        lines.append(
            f"batch {batch_size:>3}: bare loop {row['bare_fps']:7.2f} frames/s · session "
            f"{row['session_fps']:7.2f} frames/s · ratio {row['ratio']:.3f} · first frame "
            f"{row['first_frame_s']:.2f} s"
        )
    lines += share_lines(results, case.output_format)
    if "frame_tflop" in results:
        lines.append(_tflops_line(results))
    if "max_pixel_difference_across_batch_sizes" in results:
        lines.append(
            "frames across batch sizes differ by at most "
            f"{results['max_pixel_difference_across_batch_sizes']:.0f} of 255"
        )
    if "peak_rss_mb" in results:
        lines.append(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    for workers, fps in results.get("fps_by_workers", {}).items():
        lines.append(f"{workers:>3} Ray workers: {fps:7.2f} frames/s (worker start-up included)")
    for frames, peak in results.get("video_peak_rss_mb_by_frames", {}).items():
        lines.append(f"peak RSS streaming a {frames:>6}-frame input video: {peak:.0f} MB")
    for frames, peak in results.get("peak_rss_mb_by_frames", {}).items():
        lines.append(f"peak RSS for {frames:>6} frames: {peak:.0f} MB (fresh process)")
    return "\n".join(lines)


def _tflops_line(results: dict[str, Any]) -> str:
    """One frame's work and each batch size's achieved TFLOP/s (and share of the chip's peak)."""
    parts = []
    for batch_size, row in results["by_batch_size"].items():
        bare, session = row["bare_tflops"], row["session_tflops"]
        part = f"batch {batch_size}: bare {bare:.3g}, session {session:.3g}"
        if "bare_peak_share" in row:
            part += f" ({row['bare_peak_share']:.1%} / {row['session_peak_share']:.1%} of peak)"
        parts.append(part)
    chip = ""
    if "chip" in results:
        chip = f" · {results['chip']}: peak {results['chip_peak_tflops']:g} TFLOP/s dense fp16"
    return f"{results['frame_tflop'] * 1e3:.3g} GFLOP a frame{chip} · TFLOP/s " + "; ".join(parts)
