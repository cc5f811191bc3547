"""RenderSession: settings + pipeline -> frame plan -> batches -> frames, with stop and progress.

The session knows nothing of widgets: notebook cells, the CLI and the dashboard all drive it.

>>> from giffusion_nb import RenderSession
>>> session = RenderSession(prompts="0: a red circle\\n8: a blue square", num_inference_steps=2)
>>> gif_path = session.render()          # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm
from traitlets import Any as AnyTrait
from traitlets import HasTraits, Instance, Int, Unicode

from giffusion_nb.conditioning import encode_key_frame_prompts, key_frame_latents, travel
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines import call_parameters, default_device, load_pipeline
from giffusion_nb.plan import FramePlan, plan_frames
from giffusion_nb.runs import create_run_dir
from giffusion_nb.schedules import FrameStep
from giffusion_nb.scheduling import build_scheduler, use_scheduler
from giffusion_nb.settings import Settings
from giffusion_nb.writers import BackgroundWriter


@dataclass(frozen=True)
class RenderedFrame:
    """One finished frame of the animation."""

    index: int
    image: Image.Image


@dataclass
class _Job:
    """Everything a render needs, prepared once before the first batch."""

    pipe: Any
    plan: FramePlan
    height: int
    width: int
    arguments: dict[str, Any]
    latents: torch.Tensor
    scheduler: Any = None
    embeds: dict[str, torch.Tensor] = field(default_factory=dict)
    negative: dict[str, torch.Tensor] = field(default_factory=dict)


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

    # --- pipeline ---------------------------------------------------------------------------

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (``None`` before ``load_pipeline``)."""
        return self._pipe

    def _pipeline_key(self) -> tuple:
        s = self.settings
        return (s.model_id.strip(), s.pipeline_class, tuple(s.controlnet_ids))

    def load_pipeline(self) -> Any:
        """Load the pipeline the settings name, unless it is already loaded."""
        if self._pipe is not None and self._pipe_key == self._pipeline_key():
            return self._pipe
        s = self.settings
        self.status, self.message = "loading", f"Loading {s.model_id} ({s.pipeline_class})…"
        try:
            self._pipe = load_pipeline(
                s.model_id, s.pipeline_class, s.controlnet_ids, device=self.device
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
        self.settings.validate()
        return plan_frames(self.settings)

    # --- rendering --------------------------------------------------------------------------

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

    def render(self, *, progress: bool = False, run_name: str | None = None) -> Path | None:
        """Render every frame into a new run folder and return the GIF/MP4 written.

        The folder holds ``settings.json`` (written first), ``frames/NNNN.png`` (each as soon
        as it is rendered) and the output. Stopping (``stop()`` or Ctrl-C) keeps the frames
        done and writes an output of them; ``None`` when no frame was finished.
        """
        self._stop.clear()
        job = self._prepare()
        s = self.settings
        run_dir = create_run_dir(self.output_dir, job.plan.key_frames[0].prompt, run_name)
        s.save(run_dir / "settings.json")
        output_path = run_dir / f"{run_dir.name}.{s.output_format}"
        writer = BackgroundWriter(run_dir, job.plan.num_frames, output_path, s.output_format, s.fps)
        self.run_dir, self.output_path = str(run_dir), ""
        self.frames_total, self.frames_done = job.plan.num_frames, 0
        self.status, self.message = "rendering", f"Rendering {job.plan.num_frames} frames…"
        bar = tqdm(total=job.plan.num_frames, unit="frame", disable=not progress, file=sys.stderr)
        try:
            for frame in self._render(job, None):
                writer.submit(frame.index, frame.image)
                self.latest_frame = frame.image
                self.frames_done += 1
                bar.update()
        except KeyboardInterrupt:
            self._stop.set()
        except BaseException as exc:
            writer.close()  # keep every frame already rendered, and an output of them
            self.status, self.message = "error", str(exc)
            raise
        finally:
            bar.close()
        output = writer.close()
        self.output_path = str(output or "")
        stopped = self._stop.is_set()
        self.status = "stopped" if stopped else "done"
        self.message = (
            f"{'Stopped after' if stopped else 'Rendered'} {self.frames_done} of "
            f"{job.plan.num_frames} frames"
            + (f": {output}" if output else "; no complete frame to write")
        )
        return output

    # --- steps of a render ------------------------------------------------------------------

    def _prepare(self) -> _Job:
        # 1. Check inputs
        plan = self.plan()
        s = self.settings
        # 2. Load the pipeline
        pipe = self.load_pipeline()
        parameters = call_parameters(pipe)
        height, width = self._frame_size(pipe)
        # 3. Arguments shared by every batch
        arguments = self._static_arguments(pipe, parameters, height, width)
        # 4. Key-frame noise latents
        scale = getattr(pipe, "vae_scale_factor", 8)
        shape = (s.num_latent_channels, height // scale, width // scale)
        latents = key_frame_latents(plan.key_frame_seeds(), shape, self.device, pipe.dtype)
        job = _Job(pipe, plan, height, width, arguments, latents)
        if s.scheduler != "default" or s.scheduler_kwargs:
            job.scheduler = build_scheduler(pipe.scheduler, s.scheduler, s.scheduler_kwargs)
        # 5. Encode the key-frame prompts once each
        if s.use_prompt_embeds:
            prompts = [key_frame.prompt for key_frame in plan.key_frames]
            job.embeds, job.negative = encode_key_frame_prompts(
                pipe, prompts, s.negative_prompt, s.guidance_scale > 1, self.device
            )
        return job

    def _render(self, job: _Job, frames: Iterable[int] | None) -> Iterator[RenderedFrame]:
        s = self.settings
        # 6. Denoising, batch by batch, with the settings' scheduler
        with use_scheduler(job.pipe, job.scheduler), self._interruptible(job):
            for batch in job.plan.batches(s.batch_size, frames):
                if self._stop.is_set():
                    return
                with torch.no_grad():
                    images = job.pipe(**self._batch_arguments(job, batch)).images
                if self._stop.is_set():
                    return  # the pipeline was interrupted mid-batch: drop the partial frames
                for step, image in zip(batch, images, strict=True):
                    yield RenderedFrame(step.frame, image)

    @contextmanager
    def _interruptible(self, job: _Job) -> Iterator[None]:
        if "callback_on_step_end" in call_parameters(job.pipe):
            job.arguments["callback_on_step_end"] = self._on_step_end
        try:
            yield
        finally:
            job.arguments.pop("callback_on_step_end", None)

    def _on_step_end(self, pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
        if self._stop.is_set():
            pipe._interrupt = True
        return tensors

    def _frame_size(self, pipe: Any) -> tuple[int, int]:
        s = self.settings
        scale = getattr(pipe, "vae_scale_factor", 8)
        native = native_size(pipe)
        height, width = s.height or native, s.width or native
        for name, value in (("height", height), ("width", width)):
            if value % scale:
                raise SettingsError(
                    name, f"has to be divisible by {scale} (the VAE scale factor) but is {value}"
                )
        unet = getattr(pipe, "unet", None)
        channels = getattr(getattr(unet, "config", None), "in_channels", None)
        if channels is not None and channels != s.num_latent_channels:
            raise SettingsError(
                "num_latent_channels",
                f"the model's UNet takes {channels} latent channels, got {s.num_latent_channels}",
            )
        return height, width

    def _static_arguments(
        self, pipe: Any, parameters: set[str], height: int, width: int
    ) -> dict[str, Any]:
        s = self.settings
        name = type(pipe).__name__
        unknown = sorted(set(s.pipeline_kwargs) - parameters)
        if unknown:
            raise SettingsError(
                "pipeline_kwargs",
                f"{name} does not take {', '.join(map(repr, unknown))}; it takes "
                + ", ".join(sorted(parameters)),
            )
        if s.use_prompt_embeds and "prompt_embeds" not in parameters:
            raise SettingsError(
                "use_prompt_embeds", f"{name} does not take prompt_embeds; turn it off"
            )
        if s.negative_prompt.strip():
            if "negative_prompt" not in parameters:
                raise SettingsError("negative_prompt", f"{name} does not take a negative prompt")
            if s.guidance_scale <= 1:
                raise SettingsError(
                    "negative_prompt",
                    "has no effect with guidance_scale <= 1; raise guidance_scale or clear it",
                )
        arguments = {
            "num_inference_steps": s.num_inference_steps,
            "guidance_scale": s.guidance_scale,
            "height": height,
            "width": width,
            "output_type": "pil",
        }
        if "strength" in parameters and not isinstance(s.strength, str):
            arguments["strength"] = s.strength
        arguments = {key: value for key, value in arguments.items() if key in parameters}
        arguments.update(s.pipeline_kwargs)
        return arguments

    def _batch_arguments(self, job: _Job, batch: list[FrameStep]) -> dict[str, Any]:
        s = self.settings
        size = len(batch)
        arguments = dict(job.arguments)
        arguments["latents"] = travel(job.latents, batch)
        # One generator per frame, all from the seed: identical scheduler noise at any batch size.
        arguments["generator"] = [torch.Generator("cpu").manual_seed(s.seed) for _ in batch]
        if s.use_prompt_embeds:
            for name, tensors in job.embeds.items():
                arguments[name] = travel(tensors, batch)
            for name, tensor in job.negative.items():
                arguments[name] = tensor.expand(size, *tensor.shape[1:])
        else:
            arguments["prompt"] = [job.plan.key_frames[step.segment].prompt for step in batch]
            if s.negative_prompt.strip():
                arguments["negative_prompt"] = [s.negative_prompt] * size
        return arguments


def native_size(pipe: Any) -> int:
    """The frame size the model was trained at, in pixels (512 when unknown)."""
    scale = getattr(pipe, "vae_scale_factor", 8)
    sample = getattr(pipe, "default_sample_size", None)
    if sample is None:
        unet = getattr(pipe, "unet", None)
        sample = getattr(getattr(unet, "config", None), "sample_size", None)
    return sample * scale if isinstance(sample, int) else 512
