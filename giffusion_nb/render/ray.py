"""Render one animation on several Ray workers, each taking a contiguous chunk of the frames."""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.plan import FramePlan
from giffusion_nb.media.motion import motion_schedule
from giffusion_nb.output.runs import create_run_dir
from giffusion_nb.output.writers import BackgroundWriter
from giffusion_nb.render.session import RenderedFrame, RenderSession
from giffusion_nb.settings import Settings

IN_FLIGHT = 2  # calls queued on each worker, so it never waits for the driver
ONE_WORKER = "2D motion feeds each frame into the next, so it renders on one worker"
FrameHook = Callable[[RenderedFrame, list[Any]], None]


def split_frames(num_frames: int, workers: int) -> list[list[int]]:
    """Frames ``0..num_frames-1`` in at most ``workers`` contiguous, non-empty chunks whose
    sizes differ by at most one."""
    if num_frames < 0 or workers < 1:
        raise ValueError(f"need num_frames >= 0 and workers >= 1, got {num_frames}, {workers}")
    count = min(num_frames, workers)
    chunks, start = [], 0
    for chunk in range(count):
        end = start + num_frames // count + (chunk < num_frames % count)
        chunks.append(list(range(start, end)))
        start = end
    return chunks


class FrameWorker:
    """The body of a Ray actor: a session whose pipeline is loaded once, rendering frames."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._session = RenderSession(Settings.from_dict(settings))
        self._error: Exception | None = None
        try:
            self._session.load_pipeline()
        except Exception as exc:  # raised by render(), so the driver gets it, not a dead actor
            self._error = exc

    def render(self, frames: list[int]) -> list[tuple[int, bytes]]:
        """``(index, PNG bytes)`` of each frame, in frame order."""
        if self._error is not None:
            raise self._error
        rendered = []
        for frame in self._session.render_frames(frames):
            buffer = BytesIO()
            frame.image.save(buffer, format="PNG")
            rendered.append((frame.index, buffer.getvalue()))
        return rendered


def render_with_ray(
    session: RenderSession,
    *,
    workers: int,
    address: str | None = None,
    progress: bool = False,
    run_name: str | None = None,
    max_retries: int = 3,
    on_frame: FrameHook | None = None,
) -> Path | None:
    """Render every frame of ``session`` on ``workers`` Ray actors into a new run folder.

    Connects to the Ray cluster at ``address``, or uses the one this process is connected
    to, or starts a local one (shut down at the end). Each actor renders a contiguous chunk
    of frames, ``batch_size`` at a time, and sends them back as PNGs, so workers need not
    share a disk. The frames of a lost worker go to a fresh one, ``max_retries`` times at
    most. ``on_frame(frame, actors)`` is called as each frame arrives, with the live actors.
    Returns the GIF/MP4 written, like ``session.render``; 2D motion renders there instead.
    """
    if address is None:
        # Ray's switch for single-machine use: a local instance talks over loopback only,
        # never over the machine's network address (read when ray is first imported).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise SettingsError(
            "workers", "rendering on several workers needs Ray: pip install 'giffusion-nb[ray]'"
        ) from exc
    if workers < 1:
        raise SettingsError("workers", f"expected 1 or more, got {workers}")
    plan = session.plan()
    s = session.settings
    if motion_schedule(plan.num_frames, s.zoom, s.angle, s.translate_x, s.translate_y).is_active():
        output = session.render_locally(progress=progress, run_name=run_name)
        session.message = f"{ONE_WORKER}. {session.message}"
        return output
    session.clear_stop()
    started = not ray.is_initialized()
    if started and address is not None:
        ray.init(address=address, log_to_driver=False)
    elif started:
        cpus = max(workers, os.cpu_count() or 1)
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        resource = "GPU" if torch.cuda.is_available() else "CPU"
        available = ray.cluster_resources().get(resource, 0)
        if available < workers:
            raise SettingsError(
                "workers", f"{workers} workers need {workers} {resource}s; Ray has {available:g}"
            )
        return _render(ray, session, plan, workers, progress, run_name, max_retries, on_frame)
    finally:
        if started:
            ray.shutdown()


def _render(
    ray: Any,
    session: RenderSession,
    plan: FramePlan,
    workers: int,
    progress: bool,
    run_name: str | None,
    max_retries: int,
    on_frame: FrameHook | None,
) -> Path | None:
    """Open the run folder and its writer, gather the frames, and write the output."""
    s = session.settings
    chunks = split_frames(plan.num_frames, workers)
    run_dir = create_run_dir(session.output_dir, plan.key_frames[0].prompt, run_name)
    s.save(run_dir / "settings.json")
    output_path = run_dir / f"{run_dir.name}.{s.output_format}"
    audio = Path(s.audio_input) if s.audio_input and s.output_format == "mp4" else None
    writer = BackgroundWriter(
        run_dir, plan.num_frames, output_path, s.output_format, s.fps, audio_path=audio
    )
    session.run_dir, session.output_path = str(run_dir), ""
    session.frames_total, session.frames_done = plan.num_frames, 0
    session.status = "rendering"
    session.message = f"Rendering {plan.num_frames} frames on {len(chunks)} workers…"
    bar = tqdm(total=plan.num_frames, unit="frame", disable=not progress, file=sys.stderr)

    def receive(index: int, png: bytes, actors: list[Any]) -> None:
        image = Image.open(BytesIO(png)).convert("RGB")
        writer.submit(index, image)
        session.latest_frame = image
        session.frames_done += 1
        bar.update()
        if on_frame is not None:
            on_frame(RenderedFrame(index, image), actors)

    with session.frame_loop(writer, bar):
        _gather(ray, session, chunks, max_retries, receive)
    return session.end_run(writer, plan.num_frames, f" on {len(chunks)} workers")


def _gather(
    ray: Any,
    session: RenderSession,
    chunks: list[list[int]],
    max_retries: int,
    receive: Callable[[int, bytes, list[Any]], None],
) -> None:
    """Keep ``IN_FLIGHT`` calls queued on each chunk's actor and hand results to ``receive``;
    a lost actor's calls go back to the front of its chunk, for a fresh actor."""
    lost_errors = (
        ray.exceptions.RayActorError,
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.ObjectLostError,
    )
    gpu = torch.cuda.is_available()
    remote_worker = ray.remote(**({"num_gpus": 1} if gpu else {"num_cpus": 1}))(FrameWorker)
    settings = session.settings.to_dict()
    size = session.settings.batch_size
    todo = [deque(chunk[i : i + size] for i in range(0, len(chunk), size)) for chunk in chunks]
    actors = [remote_worker.remote(settings) for _ in chunks]
    calls: dict[Any, tuple[int, list[int]]] = {}  # object ref -> (chunk, frames)
    failures = 0
    try:
        while not session.stop_requested:
            for chunk, queued in enumerate(todo):
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
                results = ray.get(ready[0])
            except lost_errors as exc:
                failures += 1
                if failures > max_retries:
                    raise RuntimeError(
                        f"lost {failures} Ray workers (the last: {exc}); "
                        f"the {session.frames_done} frames received are kept"
                    ) from exc
                stale = [ref for ref, (owner, _) in calls.items() if owner == chunk]
                lost = [frames] + [calls.pop(ref)[1] for ref in stale]
                todo[chunk].extendleft(sorted(lost, reverse=True))
                ray.kill(actors[chunk])
                actors[chunk] = remote_worker.remote(settings)
                continue
            except ray.exceptions.RayTaskError as exc:
                if isinstance(exc.cause, SettingsError):
                    raise exc.cause from exc
                raise
            for index, png in results:
                receive(index, png, list(actors))
    finally:
        for actor in actors:  # also cancels the calls still queued on them
            ray.kill(actor)
