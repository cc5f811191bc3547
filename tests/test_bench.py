"""`giffusion-nb bench` runs and prints its figures (the thresholds are checked by running it,
not here: timings on a shared machine are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.pipelines.published_shapes import build_sd15_shaped


def bench(*args: str) -> tuple[str, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "giffusion_nb.cli", "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


def test_bench_compares_the_session_with_a_bare_loop():
    text, figures = bench("--frames", "6", "--runs", "1", "--batch-size", "1,3")
    for key in ("bare_fps", "session_fps", "ratio", "first_frame_s", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert figures["ratio"] == figures["session_fps"] / figures["bare_fps"]
    assert set(figures["by_batch_size"]) == {"1", "3"}
    assert figures["max_pixel_difference_across_batch_sizes"] <= 2
    assert "bare loop" in text and "ratio" in text and "first frame" in text
    # tiny-sd at 64 px: UNet and VAE work of 2 guided steps, the same for every batch size
    assert 1e6 < figures["frame_tflop"] * 1e12 < 1e12
    for row in figures["by_batch_size"].values():
        assert row["bare_tflops"] == pytest.approx(row["bare_fps"] * figures["frame_tflop"])
        assert "bare_peak_share" not in row  # a CPU has no peak figure
    assert "GFLOP a frame" in text
    # the output path's CPU, measured on the session's frames, and what it leaves on a CPU
    assert 0 < figures["png_cpu_ms_per_frame"] < figures["output_cpu_ms_per_frame"]
    assert figures["writer_in_line"] is True
    for row in figures["by_batch_size"].values():
        bare_ms = 1000 / row["bare_fps"]
        assert row["bound_in_line"] == bare_ms / (bare_ms + figures["output_cpu_ms_per_frame"])
        assert row["bound_in_line"] < row["bound_png_only"] < 1
    assert "output path, in line" in text and "can reach at most" in text


@pytest.mark.parametrize(
    ("name", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA L4", 121.0),
        ("NVIDIA L40S", 362.0),
        ("Tesla T4", 65.0),
        ("NVIDIA GeForce RTX 4090", None),
    ],
)
def test_the_chip_peak_is_the_longest_matching_name(monkeypatch, name, peak):
    from giffusion_nb.bench.flops import chip_peak

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    found = chip_peak("cuda:0")
    assert (None if found is None else found[1]) == peak
    assert chip_peak("cpu") is None


def test_the_flop_counter_counts_a_known_product():
    from giffusion_nb.bench.flops import frame_flops

    a, b = torch.ones(8, 16), torch.ones(16, 4)
    assert frame_flops(lambda: a @ b) == 2 * 8 * 16 * 4


def test_bench_measures_memory_per_frame_count_in_fresh_processes():
    text, figures = bench("--frames", "3,6")
    assert set(figures["peak_rss_mb_by_frames"]) == {"3", "6"}
    assert all(peak > 100 for peak in figures["peak_rss_mb_by_frames"].values())
    assert "fresh process" in text


def test_sd15_shapes_match_the_published_model():
    pipe = build_sd15_shaped()
    unet_parameters = sum(p.numel() for p in pipe.unet.parameters())
    assert 855e6 < unet_parameters < 865e6  # SD 1.5's UNet: 859.5 M parameters
    assert pipe.vae_scale_factor == 8
    assert pipe.text_encoder.config.hidden_size == 768


def test_compile_and_offload_options_load_on_the_cpu():
    pipe = load_pipeline("builtin:tiny-sd", device="cpu", compile_unet=True, cpu_offload=True)
    assert isinstance(pipe.unet, torch._dynamo.eval_frame.OptimizedModule)
    assert pipe.device.type == "cpu"  # offloading only applies on CUDA


def test_large_frames_are_decoded_in_tiles(tiny_pipe):
    from giffusion_nb.pipelines.load import fit_vae_to_frames

    fit_vae_to_frames(tiny_pipe, 512, 512)
    assert not tiny_pipe.vae.use_tiling
    fit_vae_to_frames(tiny_pipe, 1024, 1536)
    assert tiny_pipe.vae.use_tiling
    tiny_pipe.vae.disable_tiling()


def test_bench_measures_streaming_input_videos_in_fresh_processes():
    text, figures = bench("--video", "--frames", "10,30")
    peaks = figures["video_peak_rss_mb_by_frames"]
    assert set(peaks) == {"10", "30"} and all(peak > 50 for peak in peaks.values())
    assert "input video" in text


def test_a_one_frame_bench_plans_one_frame_of_its_own_prompt():
    from giffusion_nb.bench.speed import BenchCase, bench_session

    plan = bench_session(BenchCase(frames=1, device="cpu"), 1, device="cpu").plan()
    assert plan.num_frames == 1
    assert [key_frame.prompt for key_frame in plan.key_frames] == ["a red circle"]


def test_the_pacing_bench_compares_schedule_and_even(tiny_pipe, tmp_path):
    from giffusion_nb.bench.pacing import pacing_figures, pacing_report, save_strip

    rows = {}
    figures = pacing_figures(
        "builtin:tiny-sd", "0: a red fox\n6: a blue lion", steps=2, size=64, rows=rows
    )
    assert set(figures) == {"schedule", "even"}
    for row in figures.values():
        assert len(row["changes"]) == 6 and row["variation"] >= 0 and row["largest_over_mean"] >= 1
    assert 3 <= figures["even"]["probe_frames"] <= 3  # 35 % of 6 frames: the key frames and t 0.5
    assert "even / schedule: variation" in pacing_report(figures)
    strip = np.asarray(Image.open(save_strip(rows, tmp_path / "strip.png")))
    assert strip.shape == (128, 3 * 64, 3)  # frames 0, 3 and 6, scheduled over even
    np.testing.assert_array_equal(strip[64:, 64:128], rows["even"][3].astype(np.uint8))
