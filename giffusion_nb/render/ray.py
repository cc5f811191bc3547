"""Render one animation on several Ray workers, each taking a contiguous chunk of whole calls;
the driver runs the same run lifecycle as a local render (``lifecycle.render_run``), with its
calls on the workers (``RayCalls``)."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
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
from giffusion_nb.render.prepare import prepare_job
from giffusion_nb.render.renderer import RenderedFrame, call_groups, render_frames
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
        self._notes: list[str] = []  # what preparing the job had to say
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
            self._job = prepare_job(spec, pipe, device, on_message=self._notes.append)
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

    def notes(self) -> list[str]:
        """What preparing the job had to say (a pipeline that travels by noise alone)."""
        return list(self._notes)

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


class RayCalls:
    """Calls on Ray actors (a ``Calls`` of the run lifecycle): a context that connects to the
    cluster at ``options.address`` (or the one this process is connected to, or a local one
    started for the render and shut down after it) and checks it has a GPU (or CPU) for each
    worker. Frames travel back as PNGs, so workers need not share a disk."""

    def __init__(
        self,
        workers: int,
        options: RayOptions,
        stop: threading.Event,
        on_message: Callable[[str], None],
    ) -> None:
        self._workers, self._options, self._stop = workers, options, stop
        self._on_message = on_message
        self.notes: list[str] = []  # said once at the end of the render
        self._ray: Any = None
        self._started = False

    def __enter__(self) -> RayCalls:
        if self._options.address is None:
            # Ray's switch for single-machine use: a local instance talks over loopback only,
            # never over the machine's network address (read when ray is first imported).
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError as exc:
            raise SettingsError(
                "workers", "rendering on several workers needs Ray: pip install 'giffusion-nb[ray]'"
            ) from exc
        if self._workers < 1:
            raise SettingsError("workers", f"expected 1 or more, got {self._workers}")
        self._ray, self._started = ray, not ray.is_initialized()
        if self._started and self._options.address is not None:
            ray.init(address=self._options.address, log_to_driver=False)
        elif self._started:
            cpus = max(self._workers, os.cpu_count() or 1)
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        try:
            resource = "GPU" if torch.cuda.is_available() else "CPU"
            available = ray.cluster_resources().get(resource, 0)
            if available < self._workers:
                raise SettingsError(
                    "workers",
                    f"{self._workers} workers need {self._workers} {resource}s; "
                    f"Ray has {available:g}",
                )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def describe(self, frames: int) -> str:
        return f" on {min(self._workers, frames)} workers"

    def probe(self, spec: RenderSpec) -> Pacing:
        """Even pacing, probed by an actor of its own (the driver loads no pipeline)."""
        ray = self._ray
        actor = _remote_worker(ray).remote(spec)
        try:
            return _settings_error_of(ray, lambda: ray.get(actor.probe.remote()))
        finally:
            ray.kill(actor)

    def frames(
        self,
        spec: RenderSpec,
        todo: list[int],
        previous: Image.Image | None,
        saved: Callable[[int], Image.Image | None] | None = None,
    ) -> Iterator[RenderedFrame]:
        if spec.settings.video_join == "condition":
            raise SettingsError(
                "video_join",
                "condition renders each window from the one before, one after another, which "
                "Ray workers cannot share; choose overlap, or render with one worker",
            )
        return _gather(self._ray, spec, todo, self._stop, self._workers, self._options, self)

    def add_notes(self, notes: list[str]) -> None:
        """Notes of the workers' jobs, each said once at the end."""
        self.notes += [note for note in notes if note not in self.notes]

    def fewer_workers(self, workers: int, frames: int) -> None:
        """Fewer calls than workers (a video's windows): say so."""
        self._on_message(f"Rendering {frames} frames on {workers} workers…")


def _remote_worker(ray: Any) -> Any:
    resources = {"num_gpus": 1} if torch.cuda.is_available() else {"num_cpus": 1}
    return ray.remote(**resources)(FrameWorker)


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
    owner: RayCalls,
) -> Iterator[RenderedFrame]:
    """Give each actor a contiguous chunk of whole pipeline calls (batches, or a video's
    windows), keep ``IN_FLIGHT`` calls queued on each and yield the frames as they come; a
    lost actor's calls go back to the front of its chunk, for a fresh actor."""
    lost_errors = (
        ray.exceptions.RayActorError,
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.ObjectLostError,
    )
    remote_worker = _remote_worker(ray)
    spec_ref = ray.put(spec)
    actors = [remote_worker.remote(spec_ref) for _ in range(min(workers, len(todo)))]
    calls: dict[Any, tuple[int, list[int]]] = {}  # object ref -> (chunk, frames)
    failures = received = 0
    try:
        if not actors:
            return
        groups = _settings_error_of(ray, lambda: ray.get(actors[0].call_groups.remote(todo)))
        owner.add_notes(ray.get(actors[0].notes.remote()))
        chunks = split_frames(groups, len(actors))  # each a contiguous run of whole calls
        if len(chunks) < len(actors):  # fewer calls (a video's windows) than workers
            for actor in actors[len(chunks) :]:
                ray.kill(actor)
            actors = actors[: len(chunks)]
            owner.fewer_workers(len(chunks), len(todo))
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
                yield frame
                received += 1
                if options.on_frame is not None:
                    options.on_frame(frame, list(actors))
    finally:
        for actor in actors:  # also cancels the calls still queued on them
            ray.kill(actor)
