"""`giffusion-nb bench --gif` computes its figures (run on a few generated frames; the
figures on rendered frames are printed by the bench itself)."""

from __future__ import annotations

import json

import pytest
from helpers import gradient
from PIL import Image, ImageFilter

from giffusion_nb.bench import gif as bench_gif
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


def test_bench_gif_prints_the_table(monkeypatch, capsys):
    monkeypatch.setattr(bench_gif, "render_source_frames", lambda folder, device: calm_sequence(4))
    monkeypatch.setattr(bench_gif, "UPSCALED", 96)
    assert main(["bench", "--gif", "--frames", "2,4", "--size", "32", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures["gif_64"]) == set(figures["gif_96"]) == {"ours", "pillow"}
    assert set(figures["gif_memory_by_frames"]) == {"2", "4"}
    text = "\n".join(lines[:-1])
    assert "64 px, ours" in text and "96 px, pillow" in text and "ratio" in text
