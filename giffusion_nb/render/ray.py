"""Render one animation on several Ray workers, each taking a contiguous chunk of the frames;
the driver runs the same run lifecycle as a local render (folder, resume, writer, Comet)."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.pipelines.load import default_device, load_pipeline
from giffusion_nb.render.pacing import probe_pacing
from giffusion_nb.render.renderer import RenderedFrame, call_groups, prepare_job, render_frames
from giffusion_nb.render.run import Run, RunStatus
from giffusion_nb.render.spec import RenderSpec

IN_FLIGHT = 2  # calls queued on each worker, so it never waits for the driver
ONE_WORKER = "2D motion feeds each frame into the next, so it renders on one worker"
FrameHook = Callable[[RenderedFrame, list[Any]], None]


@dataclass(frozen=True)
class RayOptions:
    """How a render uses Ray: ``workers`` actors (``None``: the ``workers`` setting) on the
    cluster at ``address`` (or the one this process is connected to, or a local one started
    for the render)."""

    workers: int | None = None
    address: str | None = None
    max_retries: int = 3  # lost workers replaced before the render fails
    on_frame: FrameHook | None = None  # called as each frame arrives, with the live actors


def render_with_ray(session: Any, *, workers: int, **options: Any) -> Path | None:
    """``session.render`` on ``workers`` Ray actors; ``address``, ``max_retries`` and
    ``on_frame`` go to ``RayOptions``, the rest (``progress``, ``run_name``, ``resume``) to
    ``render``."""
    names = ("address", "max_retries", "on_frame")
    ray_options = {name: options.pop(name) for name in names if name in options}
    return session.render(ray=RayOptions(workers, **ray_options), **options)


def split_frames(frames: int | Sequence[int], workers: int) -> list[list[int]]:
    """``frames`` (a count, for 0..n-1, or a list) in at most ``workers`` contiguous, non-empty
    chunks whose sizes differ by at most one."""
    frames = list(range(frames)) if isinstance(frames, int) else list(frames)
    if workers < 1:
        raise ValueError(f"need workers >= 1, got {workers}")
    count = min(len(frames), workers)
    chunks, start = [], 0
    for chunk in range(count):
        end = start + len(frames) // count + (chunk < len(frames) % count)
        chunks.append(frames[start:end])
        start = end
    return chunks


class FrameWorker:
    """The body of a Ray actor: the spec's pipeline, loaded once, rendering frames."""

    def __init__(self, spec: RenderSpec) -> None:
        self._error: Exception | None = None
        self._stop = threading.Event()
        try:
            s = spec.settings
            device = default_device()
            pipe = load_pipeline(
                s.model_id,
                s.pipeline_class,
                s.controlnet_ids,
                device=device,
                cpu_offload=s.cpu_offload,
                compile_unet=s.compile_unet,
                motion_adapter_id=s.motion_adapter_id,
            )
            self._job = prepare_job(spec, pipe, device)
        except Exception as exc:  # raised by render(), so the driver gets it, not a dead actor
            self._error = exc

    def probe(self) -> Pacing:
        """The even pacing of the spec (see ``render.pacing``)."""
        if self._error is not None:
            raise self._error
        return probe_pacing(self._job, self._stop)

    def call_groups(self, frames: list[int]) -> list[list[int]]:
        """The frames of each pipeline call: batches, or a video family's windows."""
        if self._error is not None:
            raise self._error
        return call_groups(self._job, frames)

    def render(self, frames: list[int]) -> list[tuple[int, bytes]]:
        """``(index, PNG bytes)`` of each frame, in frame order."""
        if self._error is not None:
            raise self._error
        rendered = []
        for frame in render_frames(self._job, frames, self._stop):
            buffer = BytesIO()
            frame.image.save(buffer, format="PNG")
            rendered.append((frame.index, buffer.getvalue()))
        return rendered


def render_spec_on_ray(
    spec: RenderSpec,
    status: RunStatus,
    stop: threading.Event,
    options: RayOptions,
    *,
    output_dir: Path,
    progress: bool = False,
    run_name: str | None = None,
    resume: Path | None = None,
) -> Path | None:
    """Render ``spec`` on Ray actors into a run folder (new, or ``resume``'s) and write the
    output; frames travel back as PNGs, so workers need not share a disk."""
    if options.address is None:
        # Ray's switch for single-machine use: a local instance talks over loopback only,
        # never over the machine's network address (read when ray is first imported).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise SettingsError(
            "workers", "rendering on several workers needs Ray: pip install 'giffusion-nb[ray]'"
        ) from exc
    workers = spec.settings.workers if options.workers is None else options.workers
    if workers < 1:
        raise SettingsError("workers", f"expected 1 or more, got {workers}")
    started = not ray.is_initialized()
    if started and options.address is not None:
        ray.init(address=options.address, log_to_driver=False)
    elif started:
        cpus = max(workers, os.cpu_count() or 1)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        resource = "GPU" if torch.cuda.is_available() else "CPU"
        available = ray.cluster_resources().get(resource, 0)
        if available < workers:
            raise SettingsError(
                "workers", f"{workers} workers need {workers} {resource}s; Ray has {available:g}"
            )
        run = Run(
            spec,
            status,
            stop,
            output_dir=output_dir,
            run_name=run_name,
            resume=resume,
            progress=progress,
        )
        todo = run.start()
        run.where = f" on {min(workers, len(todo))} workers"
        status.message = f"Rendering {len(todo)} frames{run.where}…"
        with run.frames():
            spec = run.pace(lambda: _probe_on_a_worker(ray, spec))
            _gather(ray, spec, todo, stop, workers, options, run)
        return run.finish()
    finally:
        if started:
            ray.shutdown()


def _probe_on_a_worker(ray: Any, spec: RenderSpec) -> Pacing:
    """Even pacing, probed by an actor of its own (the driver loads no pipeline)."""
    resources = {"num_gpus": 1} if torch.cuda.is_available() else {"num_cpus": 1}
    actor = ray.remote(**resources)(FrameWorker).remote(spec)
    try:
        return _settings_error_of(ray, lambda: ray.get(actor.probe.remote()))
    finally:
        ray.kill(actor)


def _settings_error_of(ray: Any, call: Callable[[], Any]) -> Any:
    """``call()``, with a SettingsError raised on a worker raised here as it is."""
    try:
        return call()
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, SettingsError):
            raise exc.cause from exc
        raise


def _gather(
    ray: Any,
    spec: RenderSpec,
    todo: list[int],
    stop: threading.Event,
    workers: int,
    options: RayOptions,
    run: Run,
) -> None:
    """Give each actor a contiguous chunk of whole pipeline calls (batches, or a video's
    windows), keep ``IN_FLIGHT`` calls queued on each and hand the frames to the run; a lost
    actor's calls go back to the front of its chunk, for a fresh actor."""
    lost_errors = (
        ray.exceptions.RayActorError,
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.ObjectLostError,
    )
    gpu = torch.cuda.is_available()
    remote_worker = ray.remote(**({"num_gpus": 1} if gpu else {"num_cpus": 1}))(FrameWorker)
    spec_ref = ray.put(spec)
    actors = [remote_worker.remote(spec_ref) for _ in range(min(workers, len(todo)))]
    calls: dict[Any, tuple[int, list[int]]] = {}  # object ref -> (chunk, frames)
    failures = received = 0
    try:
        if not actors:
            return
        groups = _settings_error_of(ray, lambda: ray.get(actors[0].call_groups.remote(todo)))
        chunks = split_frames(groups, len(actors))  # each a contiguous run of whole calls
        if len(chunks) < len(actors):  # fewer calls (a video's windows) than workers
            for actor in actors[len(chunks) :]:
                ray.kill(actor)
            actors = actors[: len(chunks)]
            run.where = f" on {len(chunks)} workers"
            run.status.message = f"Rendering {len(todo)} frames{run.where}…"
        queues = [deque(chunk) for chunk in chunks]
        while not stop.is_set():
            for chunk, queued in enumerate(queues):
                busy = sum(1 for owner, _ in calls.values() if owner == chunk)
                for _ in range(min(IN_FLIGHT - busy, len(queued))):
                    frames = queued.popleft()
                    calls[actors[chunk].render.remote(frames)] = (chunk, frames)
            if not calls:
                return
            ready, _ = ray.wait(list(calls), num_returns=1, timeout=0.5)
            if not ready:
                continue
            chunk, frames = calls.pop(ready[0])
            try:
                results = _settings_error_of(ray, lambda ref=ready[0]: ray.get(ref))
            except lost_errors as exc:
                failures += 1
                if failures > options.max_retries:
                    raise RuntimeError(
                        f"lost {failures} Ray workers (the last: {exc}); "
                        f"the {received} frames received are kept"
                    ) from exc
                stale = [ref for ref, (owner, _) in calls.items() if owner == chunk]
                lost = [frames] + [calls.pop(ref)[1] for ref in stale]
                queues[chunk].extendleft(sorted(lost, reverse=True))
                ray.kill(actors[chunk])
                actors[chunk] = remote_worker.remote(spec_ref)
                continue
            for index, png in results:
                frame = RenderedFrame(index, Image.open(BytesIO(png)).convert("RGB"))
                run.receive(frame)
                received += 1
                if options.on_frame is not None:
                    options.on_frame(frame, list(actors))
    finally:
        for actor in actors:  # also cancels the calls still queued on them
            ray.kill(actor)
