"""RenderSession: settings + pipeline -> frame plan -> batches -> frames, with stop and progress.

The session knows nothing of widgets: notebook cells, the CLI and the dashboard all drive it.

>>> from giffusion_nb import RenderSession
>>> session = RenderSession(prompts="0: a red circle\\n8: a blue square", num_inference_steps=2)
>>> gif_path = session.render()          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm
from traitlets import Any as AnyTrait
from traitlets import HasTraits, Instance, Int, Unicode

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.plan import FramePlan, plan_frames
from giffusion_nb.media.audio import AudioSchedule, audio_key_frames, format_key_frames
from giffusion_nb.media.image import load_image
from giffusion_nb.media.motion import motion_schedule, warp
from giffusion_nb.media.video import VideoInfo, video_info
from giffusion_nb.output.runs import create_run_dir, missing_frames
from giffusion_nb.output.to_input import as_video, extract_frame
from giffusion_nb.output.tracking import finish_tracking, start_tracking
from giffusion_nb.output.writers import BackgroundWriter, existing_frames, frame_path
from giffusion_nb.pipelines.load import default_device, fit_vae_to_frames, load_pipeline
from giffusion_nb.pipelines.schedulers import build_scheduler, use_scheduler
from giffusion_nb.render.conditioning import encode_key_frame_prompts, key_frame_latents
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.render.job import (
    RenderJob,
    check_pipeline_accepts,
    equal_strength_prefix,
    frame_size,
    frame_strengths,
)
from giffusion_nb.settings import Settings
from giffusion_nb.validation import validate

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedFrame:
    """One finished frame of the animation."""

    index: int
    image: Image.Image


class RenderSession(HasTraits):
    """Holds the settings and the loaded pipeline; renders frames and writes runs.

    Status traits (``status``, ``message``, ``frames_done``, ``frames_total``,
    ``latest_frame``, ``output_path``) can be observed by a panel.
    """

    settings = Instance(Settings)
    status = Unicode("idle")  # idle, loading, ready, rendering, stopping, stopped, done, error
    message = Unicode("")
    frames_done = Int(0)
    frames_total = Int(0)
    latest_frame = AnyTrait(None, allow_none=True)
    run_dir = Unicode("")
    output_path = Unicode("")
    tracking_url = Unicode("")

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        output_dir: str | Path = "outputs",
        device: str | torch.device | None = None,
        pipeline: Any = None,
        **values: Any,
    ) -> None:
        super().__init__(settings=settings or Settings())
        if values:
            self.settings.update(**values)
        self.output_dir = Path(output_dir)
        self.device = torch.device(device) if device is not None else default_device()
        self._pipe = pipeline
        self._pipe_key = self._pipeline_key() if pipeline is not None else None
        self._stop = threading.Event()
        self._image_pipe: Any = None
        self._image_pipe_of: Any = None
        self._audio: tuple[tuple, AudioSchedule] | None = None

    # --- pipeline ---------------------------------------------------------------------------

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (``None`` before ``load_pipeline``)."""
        return self._pipe

    def _pipeline_key(self) -> tuple:
        s = self.settings
        return (
            s.model_id.strip(),
            s.pipeline_class,
            tuple(s.controlnet_ids),
            s.cpu_offload,
            s.compile_unet,
        )

    def load_pipeline(self) -> Any:
        """Load the pipeline the settings name, unless it is already loaded."""
        if self._pipe is not None and self._pipe_key == self._pipeline_key():
            return self._pipe
        s = self.settings
        self.status, self.message = "loading", f"Loading {s.model_id} ({s.pipeline_class})…"
        try:
            self._pipe = load_pipeline(
                s.model_id,
                s.pipeline_class,
                s.controlnet_ids,
                device=self.device,
                cpu_offload=s.cpu_offload,
                compile_unet=s.compile_unet,
            )
        except Exception as exc:
            self.status, self.message = "error", str(exc)
            raise
        self._pipe_key = self._pipeline_key()
        self.status, self.message = "ready", f"Loaded {type(self._pipe).__name__} on {self.device}"
        return self._pipe

    # --- planning ---------------------------------------------------------------------------

    def plan(self) -> FramePlan:
        """Validate the settings and return the frame plan (no model needed)."""
        validate(self.settings)
        return plan_frames(self.settings, audio=self._audio_schedule())

    def _audio_schedule(self) -> AudioSchedule | None:
        """The audio-driven schedule (analysed once per file, fps, component and reducer)."""
        s = self.settings
        if s.interpolation_type != "audio":
            return None
        key = (s.audio_input, s.fps, s.audio_component, s.mel_reduce)
        if self._audio is None or self._audio[0] != key:
            self._audio = (key, AudioSchedule(*key))
        return self._audio[1]

    # --- media helpers: what the panel's buttons call ---------------------------------------

    def audio_key_frame_text(self) -> str:
        """``N: timestamp: S.SS`` lines at the audio's onsets, at the session's fps."""
        s = self.settings
        if not s.audio_input:
            raise SettingsError("audio_input", "choose an audio file first")
        return format_key_frames(audio_key_frames(s.audio_input, s.fps, s.audio_component))

    def video_key_frame_info(self) -> VideoInfo:
        """Frame count and rate of the video input; the session's fps becomes the video's."""
        s = self.settings
        if not s.video_input:
            raise SettingsError("video_input", "choose a video file first")
        info = video_info(s.video_input)
        s.fps = min(max(info.fps, 1.0), 120.0)
        return info

    def use_output_frame(self, index: int, output: str | Path | None = None) -> Path:
        """Frame ``index`` of a rendered GIF/MP4 (default: the last render) becomes the image
        input; returns the PNG written under ``output_dir/inputs``."""
        output = Path(output or self.output_path)
        target = self.output_dir / "inputs" / f"{output.stem}-frame-{index:04d}.png"
        path = extract_frame(output, index, target)
        self.settings.video_input = ""
        self.settings.image_input = str(path)
        return path

    def use_output_as_video(self, output: str | Path | None = None) -> Path:
        """A rendered GIF/MP4 (default: the last render) becomes the video input."""
        path = as_video(output or self.output_path, self.output_dir / "inputs")
        self.settings.image_input = ""
        self.settings.video_input = str(path)
        return path

    # --- rendering --------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        """True once ``stop()`` was called (until the next render starts)."""
        return self._stop.is_set()

    def clear_stop(self) -> None:
        """Forget an earlier stop request (each render starts with this)."""
        self._stop.clear()

    def stop(self) -> None:
        """Ask a running render to stop; the batch in flight is dropped, frames done are kept."""
        self._stop.set()
        if self.status == "rendering":
            self.status = "stopping"

    def render_frames(self, frames: Iterable[int] | None = None) -> Iterator[RenderedFrame]:
        """Render ``frames`` (default: all) in batches, yielding each frame as it is done.

        Each frame depends only on the settings and its index, so any subset renders alone
        and the batch size does not change the frames.
        """
        self._stop.clear()
        yield from self._render(self._prepare(), frames)

    def render(
        self,
        *,
        progress: bool = False,
        run_name: str | None = None,
        resume: str | Path | None = None,
    ) -> Path | None:
        """Render every frame into a new run folder and return the GIF/MP4 written: here, or
        on ``workers`` Ray workers when that setting is above 1 (see ``render_locally``)."""
        if self.settings.workers > 1 and resume is None:
            from giffusion_nb.render.ray import render_with_ray

            return render_with_ray(
                self, workers=self.settings.workers, progress=progress, run_name=run_name
            )
        return self.render_locally(progress=progress, run_name=run_name, resume=resume)

    def render_locally(
        self,
        *,
        progress: bool = False,
        run_name: str | None = None,
        resume: str | Path | None = None,
    ) -> Path | None:
        """Render every frame in this process into a new run folder; return the GIF/MP4.

        The folder holds ``settings.json`` (written first), ``frames/NNNN.png`` (each saved
        atomically as soon as it is rendered) and the output. Stopping (``stop()`` or Ctrl-C)
        keeps the frames done and writes an output of them; ``None`` when no frame was
        finished. ``resume=RUN_DIR`` takes that run's settings and renders only its missing
        frames, giving the same frames as an uninterrupted render.
        """
        self._stop.clear()
        if resume is not None:
            self.load_settings(Path(resume) / "settings.json")
        job = self._prepare()
        s = self.settings
        if resume is not None:
            run_dir = Path(resume)
            done = existing_frames(run_dir) & set(range(job.plan.num_frames))
        else:
            run_dir = create_run_dir(self.output_dir, job.plan.key_frames[0].prompt, run_name)
            s.save(run_dir / "settings.json")
            done = set()
        todo = missing_frames(done, job.plan.num_frames, in_order=job.motion is not None)
        previous = load_image(frame_path(run_dir, todo[0] - 1)) if todo and todo[0] > 0 else None
        output_path = run_dir / f"{run_dir.name}.{s.output_format}"
        audio = Path(s.audio_input) if s.audio_input and s.output_format == "mp4" else None
        writer = BackgroundWriter(
            run_dir,
            job.plan.num_frames,
            output_path,
            s.output_format,
            s.fps,
            audio_path=audio,
            background=self.device.type != "cpu",  # on the CPU the model uses every core
        )
        tracker = start_tracking(s, run_dir, type(self._pipe).__name__) if s.comet else None
        self.run_dir, self.output_path = str(run_dir), ""
        self.frames_total, self.frames_done = job.plan.num_frames, job.plan.num_frames - len(todo)
        self.status, self.message = "rendering", f"Rendering {len(todo)} frames…"
        bar = tqdm(
            total=job.plan.num_frames,
            initial=self.frames_done,
            unit="frame",
            disable=not progress,
            file=sys.stderr,
        )
        with self.frame_loop(writer, bar):
            for frame in self._render(job, todo, previous):
                writer.submit(frame.index, frame.image)
                if tracker is not None:
                    tracker.log_frame(frame.index, frame.image)
                self.latest_frame = frame.image
                self.frames_done += 1
                bar.update()
        output = self.end_run(writer, job.plan.num_frames)
        if tracker is not None:
            self.message += f" · {finish_tracking(tracker, s, output)}"
            self.tracking_url = tracker.url
        return output

    @contextlib.contextmanager
    def frame_loop(self, writer: BackgroundWriter, bar: tqdm) -> Iterator[None]:
        """Around a run's frame loop: Ctrl-C stops the run (``end_run`` then writes the frames
        done); any other error still writes an output of the frames done, then propagates."""
        try:
            yield
        except KeyboardInterrupt:
            self._stop.set()
        except BaseException as exc:
            writer.close()
            self.status, self.message = "error", str(exc)
            raise
        finally:
            bar.close()

    def end_run(self, writer: BackgroundWriter, num_frames: int, where: str = "") -> Path | None:
        """Finish a run: write the output of the frames done, set the status and the message."""
        output = writer.close()
        self.output_path = str(output or "")
        stopped = self._stop.is_set()
        self.status = "stopped" if stopped else "done"
        self.message = (
            f"{'Stopped after' if stopped else 'Rendered'} {self.frames_done} of "
            f"{num_frames} frames{where}"
            + (f": {output}" if output else "; no complete frame to write")
        )
        return output

    # --- saved settings -----------------------------------------------------------------------

    @classmethod
    def from_run(cls, run_dir: str | Path, **kwargs: Any) -> RenderSession:
        """A session with every setting of a saved run (media inputs by path), so the same
        render comes out again."""
        session = cls(**kwargs)
        session.load_settings(Path(run_dir) / "settings.json")
        return session

    def load_settings(self, path: str | Path) -> list[str]:
        """Take every setting from a ``settings.json`` (or a run folder), in place; returns
        notes about settings the file lacked (their defaults are used)."""
        notes: list[str] = []
        loaded = Settings.load(path, notes)
        values = loaded.to_dict()
        values.pop("schema_version")
        self.settings.update(**values)
        return notes

    def save_settings(self, path: str | Path) -> Path:
        """Write the current settings as ``settings.json`` at ``path``."""
        return self.settings.save(path)

    # --- steps of a render ------------------------------------------------------------------

    def _prepare(self) -> RenderJob:
        # 1. Check inputs and plan the frames
        plan = self.plan()
        s = self.settings
        # 2. Load the pipeline, and its image-to-image form when frames start from an image
        pipe = self.load_pipeline()
        scale = getattr(pipe, "vae_scale_factor", 8)
        inputs = self._frame_inputs(plan.num_frames, scale)
        motion = motion_schedule(plan.num_frames, s.zoom, s.angle, s.translate_x, s.translate_y)
        controlnet = getattr(pipe, "controlnet", None) is not None
        needs_init = motion.is_active() or (inputs is not None and not controlnet)
        image_pipe = self._image_to_image(pipe) if needs_init else None
        for used in (pipe, image_pipe):
            if used is not None:
                check_pipeline_accepts(used, s)
        # 3. Frame size and key-frame noise latents
        height, width = frame_size(pipe, s, inputs)
        fit_vae_to_frames(pipe, height, width)
        shape = (s.num_latent_channels, height // scale, width // scale)
        latents = key_frame_latents(plan.key_frame_seeds(), shape, self.device, pipe.dtype)
        job = RenderJob(s, pipe, plan, height, width, latents, image_pipe=image_pipe)
        job.inputs, job.controlnet = inputs, controlnet
        job.motion = motion if motion.is_active() else None
        job.strengths = frame_strengths(s.strength, plan.num_frames)
        job.callback = self._on_step_end
        # 4. The settings' scheduler
        if s.scheduler != "default" or s.scheduler_kwargs:
            job.scheduler = build_scheduler(
                pipe.scheduler, s.scheduler, s.scheduler_kwargs, s.num_inference_steps
            )
        # 5. Encode the key-frame prompts once each
        if s.use_prompt_embeds:
            prompts = [key_frame.prompt for key_frame in plan.key_frames]
            job.embeds, job.negative = encode_key_frame_prompts(
                pipe, prompts, s.negative_prompt, s.guidance_scale > 1, self.device
            )
        return job

    def _render(
        self,
        job: RenderJob,
        frames: Iterable[int] | None,
        previous: Image.Image | None = None,
    ) -> Iterator[RenderedFrame]:
        # 6. Denoising, batch by batch, with the settings' scheduler
        with use_scheduler(job.pipes, job.scheduler), job.closing():
            if job.motion is not None:
                yield from self._render_in_order(job, frames, previous)
                return
            steps, start, size = job.plan.steps_for(frames), 0, self.settings.batch_size
            while start < len(steps) and not self._stop.is_set():
                part = equal_strength_prefix(steps[start : start + size], job.strengths)
                inits = [job.inputs[step.frame] for step in part] if job.inputs else None
                try:
                    images = job.denoise(part, inits)
                except torch.cuda.OutOfMemoryError as exc:
                    size = self._smaller_batch(len(part), exc)
                    continue
                if self._stop.is_set():
                    return  # interrupted mid-batch: drop the partial frames
                start += len(part)
                for step, image in zip(part, images, strict=True):
                    yield RenderedFrame(step.frame, image)

    def _smaller_batch(self, size: int, error: BaseException) -> int:
        """After running out of GPU memory: half the batch size, or a clear error at 1."""
        if size == 1:
            raise SettingsError(
                "batch_size",
                "ran out of GPU memory rendering one frame at a time; use smaller frames "
                "(height, width), fewer steps, or a GPU with more memory",
            ) from error
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.message = f"Out of GPU memory at batch size {size}; going on at {size // 2}"
        _logger.warning(self.message)
        return size // 2

    def _render_in_order(
        self, job: RenderJob, frames: Iterable[int] | None, previous: Image.Image | None
    ) -> Iterator[RenderedFrame]:
        """2D motion: each frame starts from the previous one, warped; one frame at a time."""
        wanted = list(range(job.plan.num_frames)) if frames is None else sorted(set(frames))
        if wanted and wanted != list(range(wanted[0], wanted[0] + len(wanted))):
            raise ValueError("2D motion renders consecutive frames")
        if wanted and wanted[0] > 0 and previous is None:
            raise ValueError("2D motion renders from frame 0, or from the frame before")
        for frame in wanted:
            if previous is not None:
                init = warp(previous, job.motion.step(frame), self.settings.padding_mode)
            elif job.inputs is not None and not job.controlnet:
                init = job.inputs[frame]
            else:
                init = None
            if self._stop.is_set():
                return
            try:
                (image,) = job.denoise([job.plan.steps[frame]], None if init is None else [init])
            except torch.cuda.OutOfMemoryError as exc:
                self._smaller_batch(1, exc)
            if self._stop.is_set():
                return
            previous = image
            yield RenderedFrame(frame, image)

    def _on_step_end(self, pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
        if self._stop.is_set():
            pipe._interrupt = True
        return tensors

    def _frame_inputs(self, num_frames: int, scale: int) -> FrameImages | None:
        s = self.settings
        if not (s.image_input or s.video_input):
            return None
        return FrameImages(
            image_input=s.image_input,
            video_input=s.video_input,
            num_frames=num_frames,
            multiple=scale,
            size=(s.width, s.height),
        )

    def _image_to_image(self, pipe: Any) -> Any:
        """The loaded pipeline's image-to-image form, sharing its weights (made once)."""
        if self._image_pipe is None or self._image_pipe_of is not pipe:
            from diffusers import AutoPipelineForImage2Image

            try:
                self._image_pipe = AutoPipelineForImage2Image.from_pipe(pipe)
            except Exception as exc:
                raise SettingsError(
                    "pipeline_class",
                    f"{type(pipe).__name__} has no image-to-image form for image, video or "
                    f"motion input: {type(exc).__name__}: {exc}",
                ) from exc
            self._image_pipe.set_progress_bar_config(disable=True)
            self._image_pipe_of = pipe
        return self._image_pipe
