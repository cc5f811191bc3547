"""Even-paced travel, the probe: render each segment at a few t values, split the intervals that
change most, measure how much the picture changes between them, and re-time the frames' t."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
from PIL import Image

from giffusion_nb.keyframes.pacing import (
    Pacing,
    SegmentProbe,
    even_plan_t,
    next_probe,
    probe_points,
    step_changes,
)
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.render.job import RenderJob, same_call_prefix

PROBE_BATCH = 4  # probe pictures a call: fixed, so the probe never depends on batch_size


def probe_job(job: RenderJob) -> RenderJob:
    """The job with half its denoising steps (at least 2), sharing its pipelines and tensors."""
    counts = np.maximum(2, (job.spec.step_counts + 1) // 2)
    counts.setflags(write=False)
    spec = dataclasses.replace(job.spec, step_counts=counts)
    return dataclasses.replace(job, spec=spec, callback=None)


def probe_pacing(job: RenderJob, stop: threading.Event | None = None) -> Pacing:
    """Probe every segment with frames in between and return the even pacing of the plan."""
    started = time.perf_counter()
    probe = probe_job(job)
    plan = job.plan
    key_frames = [key_frame.frame for key_frame in plan.key_frames]
    probes: dict[int, SegmentProbe] = {}
    key_pictures: dict[int, np.ndarray] = {}  # key frame -> its picture, shared by two segments
    rendered = 0
    for segment in range(len(key_frames) - 1):
        start, end = key_frames[segment], key_frames[segment + 1]
        if end - start < 2 or (stop is not None and stop.is_set()):
            continue
        t = list(probe_points(end - start))
        first = key_pictures.get(segment)  # the previous segment's picture at t = 1
        wanted = t if first is None else t[1:]
        made = _pictures(probe, segment, start, end, wanted)
        pictures = made if first is None else [first, *made]
        rendered += len(wanted)
        key_pictures[segment + 1] = pictures[-1]
        while True:
            measured = SegmentProbe(np.array(t), step_changes(pictures), end - start)
            more = next_probe(measured)
            if more is None or (stop is not None and stop.is_set()):
                break
            position = int(np.searchsorted(t, more))
            t.insert(position, more)
            pictures.insert(position, _pictures(probe, segment, start, end, [more])[0])
            rendered += 1
        probes[segment] = measured
    paced = even_plan_t(plan.segments, plan.t, probes)
    return Pacing(np.array(plan.t), paced, probes, rendered, time.perf_counter() - started)


def _pictures(
    job: RenderJob, segment: int, start: int, end: int, t_values: list[float]
) -> list[np.ndarray]:
    """The segment's pictures at ``t_values``, as float arrays; each at the frame nearest to
    its t, for that frame's input image and strength."""
    steps = [
        FrameStep(min(start + round(t * (end - start)), job.plan.num_frames - 1), segment, t)
        for t in t_values
    ]
    pictures: list[np.ndarray] = []
    while len(pictures) < len(steps):
        batch = steps[len(pictures) : len(pictures) + PROBE_BATCH]
        part = same_call_prefix(batch, job.spec)
        inits = [job.init_of(step.frame) for step in part]
        images = job.denoise(part, None if inits[0] is None else inits)
        pictures.extend(_pixels(image) for image in images)
    return pictures


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)
