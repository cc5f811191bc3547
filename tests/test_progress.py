"""The progress line: frames, and the speed and ETA of this run's own frames."""

from __future__ import annotations

from giffusion_nb.ui.progress import clock, progress_text


def test_progress_counts_only_this_runs_frames():
    # Resume: 10 of 25 frames were on disk; 2 more in 2 s is 1 frame/s, not 6.
    running = progress_text(12, 25, start_done=10, elapsed=2.0, running=True)
    assert running == "12/25 frames · 1.00 frames/s · ETA 0:00:13"
    assert progress_text(10, 25, start_done=10, elapsed=0.5, running=True) == (
        "10/25 frames (10 already on disk)"
    )
    ended = progress_text(25, 25, start_done=10, elapsed=7.5, running=False)
    assert ended == "25/25 frames · 15 in 0:00:08 (2.00 frames/s)"


def test_clock():
    assert clock(0) == "0:00:00" and clock(3725) == "1:02:05"
