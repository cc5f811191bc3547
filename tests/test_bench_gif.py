"""`giffusion-nb bench --gif` computes its figures (run on a few generated frames; the
figures on rendered frames are printed by the bench itself)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from helpers import gradient
from PIL import Image, ImageFilter

from giffusion_nb.bench import gif as bench_gif
from giffusion_nb.bench import writer as bench_writer
from giffusion_nb.bench.photos import photo_frames
from giffusion_nb.cli import main


def calm_sequence(count: int) -> list[Image.Image]:
    """Smooth colour patches that drift, like a slow travel."""
    base = gradient(0, 96).filter(ImageFilter.GaussianBlur(3))
    return [base.crop((index, index, index + 64, index + 64)) for index in range(count)]


def test_psnr_and_low_frequency_error():
    image = gradient(0)
    assert bench_gif.psnr(image, image) == bench_gif.PSNR_IDENTICAL
    darker = Image.eval(image, lambda value: max(value - 2, 0))
    assert bench_gif.psnr(darker, image) == pytest.approx(42.1, abs=0.3)  # about 2 levels off
    assert bench_gif.low_frequency_error(darker, image) == pytest.approx(2, abs=0.1)


def test_ours_is_closer_than_a_plain_pillow_save():
    figures = bench_gif.compare_gifs(calm_sequence(6), runs=1)
    ours, pillow = figures["ours"], figures["pillow"]
    for row in (ours, pillow):
        assert row["bytes"] > 0 and row["ms_per_frame"] > 0
        assert 30 < row["min_psnr_db"] <= row["mean_psnr_db"] < bench_gif.PSNR_IDENTICAL
    assert ours["mean_psnr_db"] > pillow["mean_psnr_db"]
    assert ours["min_psnr_db"] > pillow["min_psnr_db"]
    assert ours["low_frequency_error"] < pillow["low_frequency_error"]


def test_gif_memory_is_measured_in_fresh_processes():
    held = bytearray(300 * 2**20)  # a fresh process must not report its parent's peak
    memory = bench_gif.gif_memory_by_frames([3, 6], 32)
    assert set(memory) == {"3", "6"}
    for row in memory.values():
        assert 10 < row["after_first_frame_mb"] <= row["peak_rss_mb"] < 200
    del held


def test_photo_frames_pan_and_cross_fade_the_sample_photographs():
    frames = photo_frames(40, 9)
    assert len(frames) == 9 and {frame.size for frame in frames} == {(40, 40)}
    arrays = [np.asarray(frame, np.float32) for frame in frames]
    assert all(np.abs(a - b).mean() > 1 for a, b in itertools.pairwise(arrays))
    assert len(np.unique(arrays[4].reshape(-1, 3), axis=0)) > 600  # photographic: many colours


def test_writer_figures_come_from_fresh_processes():
    figures = bench_writer.writer_bench(size=48, frames=4)
    assert set(figures["writer_cpu"]) == {"gif", "mp4"}
    assert all(row["cpu_ms_per_frame"] > 0 for row in figures["writer_cpu"].values())
    assert list(figures["writer_fps_by_processes"]) == [
        str(count) for count in bench_writer.worker_counts()
    ]
    assert all(row["fps"] > 0 for row in figures["writer_fps_by_processes"].values())
    text = "\n".join(bench_writer.writer_report(figures))
    assert "CPU per 48 px photographic frame" in text and "with MP4" in text
    assert "1 process(es) on 1 core(s)" in text and "1.00x one process" in text


def test_bench_gif_prints_the_table(monkeypatch, capsys):
    monkeypatch.setattr(bench_gif, "render_source_frames", lambda folder, device: calm_sequence(4))
    monkeypatch.setattr(bench_gif, "UPSCALED", 96)
    monkeypatch.setattr(bench_gif, "PHOTO_FRAMES", {48: 3})
    writer = {"writer_size": 48, "writer_cpu": {"gif": {"cpu_ms_per_frame": 2.0}}}
    writer["writer_fps_by_processes"] = {"1": {"fps": 10.0}, "2": {"fps": 19.0}}
    monkeypatch.setattr(bench_gif, "writer_bench", lambda: writer)
    assert main(["bench", "--gif", "--frames", "2,4", "--size", "32", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures["gif_64"]) == set(figures["gif_96"]) == {"ours", "pillow"}
    assert set(figures["photo_48"]) == {"ours", "pillow"}
    assert set(figures["gif_memory_by_frames"]) == {"2", "4"}
    text = "\n".join(lines[:-1])
    assert "64 px, ours" in text and "96 px, pillow" in text and "ratio" in text
    assert "GIF of photos" in text and "48 px, ours - pillow" in text
    assert "2 process(es) on 2 core(s), 48 px:  19.00 frames/s (1.90x one process" in text
