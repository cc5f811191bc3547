"""`giffusion-nb bench --gif`: our GIF against a plain Pillow save (PSNR, bytes, CPU time) on
rendered and on photographic frames, the GIF's memory, and the writer's CPU and frames/s."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageSequence

from giffusion_nb.bench.memory import peak_rss_mb
from giffusion_nb.bench.photos import photo_frames
from giffusion_nb.bench.writer import writer_bench, writer_report
from giffusion_nb.output.encoders import GifEncoder
from giffusion_nb.output.gif_format import frame_delay_cs

GIF_BENCH_FPS = 12
SOURCE_FRAMES = 30
SOURCE_STEPS = 10
UPSCALED = 256
# Photographic frames: their sizes, and how many frames at each (fewer where Pillow is slow).
PHOTO_FRAMES = {256: 30, 512: 30, 1024: 12}
# PSNR of identical frames is infinite; it is reported as this.
PSNR_IDENTICAL = 99.0
# The low-frequency error that shows banding: the frames' 7x7 box blurs compared.
_BLUR = ImageFilter.BoxBlur(3)


def render_source_frames(folder: Path, device: str = "cpu") -> list[Image.Image]:
    """``SOURCE_FRAMES`` frames of a ``builtin:shapes-sd`` travel at 64 px, saved as PNGs in
    ``folder`` and read back from there (the bench compares with exactly those pixels)."""
    from giffusion_nb.render.session import RenderSession

    session = RenderSession(
        output_dir=folder,
        device=device,
        model_id="builtin:shapes-sd",
        prompts=f"0: a red circle\n{SOURCE_FRAMES - 1}: a blue square",
        num_inference_steps=SOURCE_STEPS,
        height=64,
        width=64,
        batch_size=6,
    )
    paths = []
    for frame in session.render_frames():
        paths.append(folder / f"{frame.index:04d}.png")
        frame.image.save(paths[-1])
    return [_load_rgb(path) for path in paths]


def upscaled(frames: list[Image.Image], size: int) -> list[Image.Image]:
    """The frames resized to ``size`` pixels a side (bicubic)."""
    return [frame.resize((size, size), Image.Resampling.BICUBIC) for frame in frames]


def _load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def psnr(decoded: Image.Image, source: Image.Image) -> float:
    """Peak signal-to-noise ratio of ``decoded`` against ``source``, in dB (8-bit RGB)."""
    a = np.asarray(decoded.convert("RGB"), dtype=np.float64)
    b = np.asarray(source.convert("RGB"), dtype=np.float64)
    mse = float(np.mean(np.square(a - b)))
    return PSNR_IDENTICAL if mse == 0 else min(PSNR_IDENTICAL, 10 * np.log10(255**2 / mse))


def low_frequency_error(decoded: Image.Image, source: Image.Image) -> float:
    """Mean difference of the two images' 7x7 box blurs, in levels: what banding shows as
    (dithering noise averages out)."""
    a = np.asarray(decoded.convert("RGB").filter(_BLUR), dtype=np.float64)
    b = np.asarray(source.convert("RGB").filter(_BLUR), dtype=np.float64)
    return float(np.abs(a - b).mean())


def write_ours(frames: list[Image.Image], path: Path, fps: float) -> Path:
    """Our GIF of ``frames``."""
    encoder = GifEncoder(path, fps)
    for frame in frames:
        encoder.append(frame)
    return encoder.close()


def write_pillow(frames: list[Image.Image], path: Path, fps: float) -> Path:
    """A plain Pillow GIF of ``frames`` (as Giffusion saves one), with our true delays."""
    delays = [10 * frame_delay_cs(fps, index) for index in range(len(frames))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=delays, loop=0)
    return path


def gif_figures(
    frames: list[Image.Image], write, folder: Path, fps: float = GIF_BENCH_FPS, runs: int = 3
) -> dict[str, float]:
    """Mean and minimum PSNR, worst low-frequency error, bytes, and the least of ``runs``
    CPU times per frame of one way (``write``) of making a GIF of ``frames`` (both ways
    work in this process)."""
    times = []
    for run in range(runs):
        started = time.process_time()
        path = write(frames, folder / f"{write.__name__}-{run}.gif", fps)
        times.append(time.process_time() - started)
    with Image.open(path) as gif:
        decoded = [frame.convert("RGB") for frame in ImageSequence.Iterator(gif)]
    if len(decoded) != len(frames):
        raise ValueError(f"{path} has {len(decoded)} frames, not {len(frames)}")
    values = [psnr(a, b) for a, b in zip(decoded, frames, strict=True)]
    return {
        "mean_psnr_db": float(np.mean(values)),
        "min_psnr_db": float(np.min(values)),
        "low_frequency_error": max(map(low_frequency_error, decoded, frames)),
        "bytes": path.stat().st_size,
        "ms_per_frame": 1000 * min(times) / len(frames),
    }


def compare_gifs(frames: list[Image.Image], runs: int = 3) -> dict[str, dict[str, float]]:
    """Our GIF and a plain Pillow one of the same frames, side by side."""
    with tempfile.TemporaryDirectory(prefix="giffusion-bench-gif-") as folder:
        return {
            "ours": gif_figures(frames, write_ours, Path(folder), runs=runs),
            "pillow": gif_figures(frames, write_pillow, Path(folder), runs=runs),
        }


def moving_frame(index: int, size: int) -> Image.Image:
    """A frame of a generated animation: a gradient drifting under a circle that moves,
    drawn at 64 px and resized to ``size`` like the upscaled bench frames."""
    y, x = np.mgrid[0:64, 0:64] / 64
    phase = index / 50
    rgb = np.dstack([x, y, (x + y + phase) % 1.0]) * 255
    cx, cy = 0.5 + 0.3 * np.cos(phase * 6), 0.5 + 0.3 * np.sin(phase * 6)
    rgb[np.hypot(x - cx, y - cy) < 0.15] = (230, 40, 40)
    frame = Image.fromarray(rgb.round().astype(np.uint8))
    return frame.resize((size, size), Image.Resampling.BICUBIC)


def gif_memory(frames: int, size: int) -> dict[str, float]:
    """Peak RSS after encoding a ``frames``-long generated animation into a GIF (run in a
    fresh process by ``gif_memory_by_frames``, which imports neither torch nor diffusers)."""
    with tempfile.TemporaryDirectory(prefix="giffusion-bench-gif-") as folder:
        encoder = GifEncoder(Path(folder) / "memory.gif", GIF_BENCH_FPS)
        encoder.append(moving_frame(0, size))
        after_first = peak_rss_mb()
        for index in range(1, frames):
            encoder.append(moving_frame(index, size))
        encoder.close()
    return {"peak_rss_mb": peak_rss_mb(), "after_first_frame_mb": after_first}


def gif_memory_by_frames(frame_counts: list[int], size: int) -> dict[str, dict[str, float]]:
    """``gif_memory`` for each number of frames, each in a fresh process."""
    figures = {}
    for frames in frame_counts:
        command = [sys.executable, "-m", "giffusion_nb.bench.gif", str(frames), str(size)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        figures[str(frames)] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def gif_bench(frame_counts: list[int], memory_size: int, device: str = "cpu") -> dict[str, Any]:
    """Every figure of ``bench --gif``: fidelity on the rendered frames at 64 px and upscaled,
    and on photographic frames (``PHOTO_FRAMES``); memory for each frame count at
    ``memory_size``; the writer's CPU per frame and frames/s by processes."""
    with tempfile.TemporaryDirectory(prefix="giffusion-bench-frames-") as folder:
        frames = render_source_frames(Path(folder), device)
    results = {
        "gif_64": compare_gifs(frames),
        f"gif_{UPSCALED}": compare_gifs(upscaled(frames, UPSCALED)),
    }
    for size, count in PHOTO_FRAMES.items():
        results[f"photo_{size}"] = compare_gifs(photo_frames(size, count), runs=1)
    results["gif_memory_size"] = memory_size
    results["gif_memory_by_frames"] = gif_memory_by_frames(frame_counts, memory_size)
    results.update(writer_bench())
    return results


def gif_report(results: dict[str, Any]) -> str:
    """The table ``bench --gif`` prints."""
    lines = []
    for prefix, title in (("gif_", f"{SOURCE_FRAMES} shapes-sd frames"), ("photo_", "photos")):
        keys = [k for k in results if k.startswith(prefix) and k[len(prefix) :].isdigit()]
        if keys:
            lines.append(
                f"{'GIF of ' + title:<34} mean/min PSNR dB   low-freq err   KB     CPU ms/frame"
            )
        for key in sorted(keys, key=lambda k: int(k[len(prefix) :])):
            for name, row in results[key].items():
                lines.append(
                    f"{key[len(prefix) :] + ' px, ' + name:<34} {row['mean_psnr_db']:6.2f} / "
                    f"{row['min_psnr_db']:5.2f}    {row['low_frequency_error']:6.2f}    "
                    f"{row['bytes'] / 1024:7.1f}  {row['ms_per_frame']:7.2f}"
                )
            if {"ours", "pillow"} <= set(results[key]):
                ours, pillow = results[key]["ours"], results[key]["pillow"]
                lines.append(
                    f"{key[len(prefix) :] + ' px, ours - pillow':<34} "
                    f"{ours['mean_psnr_db'] - pillow['mean_psnr_db']:+6.2f} dB at "
                    f"{ours['bytes'] / pillow['bytes']:.3f}x the bytes"
                )
    memory = results.get("gif_memory_by_frames", {})
    for frames, row in memory.items():
        lines.append(
            f"GIF peak RSS, {frames:>5} frames of {results['gif_memory_size']} px: "
            f"{row['peak_rss_mb']:.0f} MB ({row['after_first_frame_mb']:.0f} MB after the "
            "first frame; fresh process)"
        )
    if len(memory) > 1:
        peaks = [row["peak_rss_mb"] for row in memory.values()]
        lines.append(f"GIF peak RSS ratio, most / fewest frames: {peaks[-1] / peaks[0]:.3f}")
    lines += writer_report(results)
    return "\n".join(lines)


def run_gif_bench(
    frame_counts: list[int], size: int | None, device: str | None, as_json: bool
) -> None:
    """What ``bench --gif`` runs and prints. Memory is measured at ``size`` (256) for each
    of several frame counts (one count, as the option's default, means 100 and 800)."""
    counts = frame_counts if len(frame_counts) > 1 else [100, 800]
    results = gif_bench(counts, size or UPSCALED, device or "cpu")
    print(gif_report(results))
    if as_json:
        print(json.dumps(results))


if __name__ == "__main__":  # python -m giffusion_nb.bench.gif FRAMES SIZE: gif_memory's JSON
    print(json.dumps(gif_memory(int(sys.argv[1]), int(sys.argv[2]))))
