"""The one lifecycle of a render into a run folder, the same wherever its pipeline calls run:
open the run (new or resumed), pace the travel, render the calls, hand each frame to the
writer, finish; the status follows every step, and an error at any step (the pacing probe
too) still closes the writer and says what went wrong.

Entry points only choose where the calls run: ``LocalCalls`` here, ``ray.RayCalls`` on Ray
workers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from PIL import Image

from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.render.flow_cadence import cadenced_calls
from giffusion_nb.render.job import RenderJob
from giffusion_nb.render.pacing import probe_pacing
from giffusion_nb.render.renderer import RenderedFrame, render_frames
from giffusion_nb.render.run import Run, RunStatus
from giffusion_nb.render.spec import RenderSpec


class Calls(Protocol):
    """Where a render's pipeline calls run."""

    notes: list[str]  # what the render says at its end (a pipeline that travels by noise alone)

    def describe(self, frames: int) -> str:
        """How messages say where ``frames`` frames render: ``""``, or `` on 2 workers``."""

    def probe(self, spec: RenderSpec) -> Pacing:
        """The even pacing of ``spec`` (see ``render.pacing``)."""

    def frames(
        self,
        spec: RenderSpec,
        todo: list[int],
        previous: Image.Image | None,
        saved: Callable[[int], Image.Image | None],
    ) -> Iterator[RenderedFrame]:
        """The frames ``todo`` of ``spec``, as their calls finish (2D motion: from
        ``previous``, the frame before the first; ``saved``: a frame of the run folder, for
        video windows that start from an earlier frame)."""


class LocalCalls:
    """Calls in this process, on a prepared job (``notes``: what preparing it had to say)."""

    def __init__(
        self,
        job: RenderJob,
        stop: threading.Event,
        on_message: Callable[[str], None],
        notes: list[str] | None = None,
    ) -> None:
        self.job, self._stop, self._on_message = job, stop, on_message
        self.notes = list(notes or [])

    def describe(self, frames: int) -> str:
        return ""

    def probe(self, spec: RenderSpec) -> Pacing:
        return probe_pacing(dataclasses.replace(self.job, spec=spec), self._stop)

    def frames(
        self,
        spec: RenderSpec,
        todo: list[int] | None,
        previous: Image.Image | None = None,
        saved: Callable[[int], Image.Image | None] | None = None,
    ) -> Iterator[RenderedFrame]:
        self.job.spec, self.job.earlier = spec, saved
        return render_frames(
            self.job, todo, self._stop, previous=previous, on_message=self._on_message
        )


def render_run(
    spec: RenderSpec,
    calls: Calls,
    status: RunStatus,
    stop: threading.Event,
    *,
    output_dir: Path,
    run_name: str | None = None,
    resume: Path | None = None,
    progress: bool = False,
    background: bool = True,
    pipeline_name: str = "",
) -> tuple[Path | None, RenderSpec]:
    """Render ``spec`` into a run folder (new, or ``resume``'s missing frames) with ``calls``;
    returns the output written (``None``: no frame done) and the spec as rendered (re-timed
    by even pacing)."""
    run = Run(
        spec,
        status,
        stop,
        output_dir=output_dir,
        run_name=run_name,
        resume=resume,
        progress=progress,
        background=background,
        pipeline_name=pipeline_name,
    )
    todo = run.start()
    run.say_where(calls.describe(len(todo)), len(todo))
    with run.frames():
        paced = run.pace(lambda: calls.probe(run.spec))
        previous = run.previous_frame(todo)
        for frame in cadenced_calls(calls, paced, todo, previous, run.saved_frame):
            run.receive(frame)
    return run.finish(calls.notes), run.spec
