"""The progress line of a render: frames done, and the speed and ETA of this run's own frames."""

from __future__ import annotations

import time

import ipywidgets as widgets

from giffusion_nb.render.session import RenderSession

RUNNING = ("rendering", "stopping")


def progress_text(done: int, total: int, *, start_done: int, elapsed: float, running: bool) -> str:
    """``12/25 frames · 2.00 frames/s · ETA 0:00:07`` while running; ``25/25 frames · 15 in
    0:00:07 (2.14 frames/s)`` once ended. Speed and ETA count only the frames this run rendered
    (``done - start_done``), never those already on disk (Resume)."""
    text = f"{done}/{total} frames"
    rendered = done - start_done
    if rendered <= 0 or elapsed <= 0:
        return text + (f" ({start_done} already on disk)" if start_done and running else "")
    rate = rendered / elapsed
    if running:
        return f"{text} · {rate:.2f} frames/s · ETA {clock((total - done) / rate)}"
    return f"{text} · {rendered} in {clock(elapsed)} ({rate:.2f} frames/s)"


def clock(seconds: float) -> str:
    """``H:MM:SS``."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class Progress:
    """A progress bar and its line of text, following a session's frames and status."""

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self.bar = widgets.IntProgress(
            min=0, max=1, value=0, layout=widgets.Layout(flex="1 1 160px", min_width="120px")
        )
        self.bar.add_class("gnb-progress")
        self.text = widgets.HTML()
        self.text.add_class("gnb-progress-text")
        self.widget = widgets.HBox([self.bar, self.text], layout=widgets.Layout(flex="1 1 auto"))
        self._start: tuple[float, int] | None = None  # (time, frames done) when the run began
        self._ended_at: float | None = None
        session.observe(self._on_status, names="status")
        session.observe(self._update, names=["frames_done", "frames_total"])

    def reset(self) -> None:
        """Forget the last run (a new one is about to start)."""
        self._start = self._ended_at = None
        self._update()

    def _on_status(self, change: dict) -> None:
        if change["new"] == "rendering":
            self._start, self._ended_at = (time.monotonic(), self.session.frames_done), None
        elif change["new"] not in RUNNING and self._start is not None and self._ended_at is None:
            self._ended_at = time.monotonic()
        self._update()

    def _update(self, _change: dict | None = None) -> None:
        done, total = self.session.frames_done, max(self.session.frames_total, 1)
        self.bar.max, self.bar.value = total, min(done, total)
        if self._start is None:
            self.text.value = f"{done}/{total} frames" if self.session.frames_total else ""
            return
        started, start_done = self._start
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        self.text.value = progress_text(
            done,
            total,
            start_done=start_done,
            elapsed=end - started,
            running=self._ended_at is None,
        )
