"""The animator's toolkit benchmarks measure what they say, on the tiny pipeline."""

from __future__ import annotations

from giffusion_nb.bench.cadence import cadence_figures, cadence_report
from giffusion_nb.bench.coherence import coherence_figures, coherence_report


def test_coherence_bench_measures_the_drift_with_and_without(tiny_pipe):
    figures = coherence_figures("builtin:tiny-sd", frames=6, steps=2, device="cpu")
    none, first = figures["none"], figures["first"]
    assert none["mean_drift"] > 0 and none["last_drift"] <= none["max_drift"]
    assert first["mean_drift"] < 0.5 * none["mean_drift"]
    text = coherence_report(figures)
    assert "first / none: mean drift" in text and "last frame" in text


def test_cadence_bench_counts_the_diffusion_calls_and_times_each_cadence(tiny_pipe):
    figures = cadence_figures("builtin:tiny-sd", frames=9, cadences=(1, 3), steps=2, runs=1)
    assert figures["1"]["frames"] == figures["3"]["frames"] == 9
    assert figures["1"]["diffusion_calls"] == 9 and figures["3"]["diffusion_calls"] == 4
    assert all(row["median_seconds"] > 0 for row in figures.values())
    assert "cadence 3: 9 frames, 4 diffusion calls" in cadence_report(figures)
