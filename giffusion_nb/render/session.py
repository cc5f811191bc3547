"""RenderSession: settings + pipeline -> frozen spec -> frames and runs, with stop and progress.

The session knows nothing of widgets: notebook cells, the CLI and the dashboard all drive it.

>>> from giffusion_nb import RenderSession
>>> session = RenderSession(prompts="0: a red circle\\n8: a blue square", num_inference_steps=2)
>>> gif_path = session.render()          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from traitlets import Any as AnyTrait
from traitlets import HasTraits, Instance, Int, Unicode

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.audio_keys import parse_key_source
from giffusion_nb.keyframes.plan import FramePlan
from giffusion_nb.media.audio import AudioSchedule
from giffusion_nb.media.beats import AudioKeys, audio_keys
from giffusion_nb.media.video import VideoInfo, video_info
from giffusion_nb.output.to_input import as_video, extract_frame
from giffusion_nb.output.writers import writes_in_line
from giffusion_nb.pipelines.devices import resolve_device
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.render.flow_cadence import cadenced_calls
from giffusion_nb.render.lifecycle import LocalCalls, render_run
from giffusion_nb.render.prepare import Siblings, prepare_job
from giffusion_nb.render.ray import ONE_WORKER, RayCalls, RayOptions
from giffusion_nb.render.renderer import RenderedFrame
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.settings import FrozenSettings, Settings

__all__ = ["RenderSession", "RenderedFrame", "SessionBusy"]


class SessionBusy(RuntimeError):
    """A session renders one thing at a time."""


class RenderSession(HasTraits):
    """Holds the settings and the loaded pipeline; renders frames and writes runs.

    Each render reads a frozen spec taken from the settings at its start, so edits made
    while it runs apply to the next render. Status traits (``status``, ``message``,
    ``frames_done``, ``frames_total``, ``latest_frame``, ``output_path``) can be observed.
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
    pacing = AnyTrait(None, allow_none=True)  # the last render's even pacing (Pacing)

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
        self.device = resolve_device(device)
        self._pipe = pipeline
        self._pipe_key = _pipeline_key(self.settings) if pipeline is not None else None
        self._siblings = Siblings()
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._audio: tuple[tuple, AudioSchedule] | None = None

    # --- pipeline ---------------------------------------------------------------------------

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (``None`` before ``load_pipeline``)."""
        return self._pipe

    @property
    def pipeline_loaded(self) -> bool:
        """True when the pipeline the settings name is the one loaded."""
        return self._pipe is not None and self._pipe_key == _pipeline_key(self.settings)

    def use_pipeline(self, pipe: Any) -> None:
        """Render with ``pipe``, a pipeline already loaded for the current settings."""
        self._pipe, self._pipe_key = pipe, _pipeline_key(self.settings)

    def pipeline_for(self, mode: str) -> Any:
        """The loaded pipeline's sibling for a mode (``"image"``: its image-to-image form),
        sharing its weights; made once."""
        pipe = self.load_pipeline()
        return self._siblings.get(pipe, family_of(pipe), mode)

    def load_pipeline(self, settings: Settings | FrozenSettings | None = None) -> Any:
        """Load the pipeline ``settings`` (default: the session's) name, unless it is loaded."""
        s = settings or self.settings
        key = _pipeline_key(s)
        if self._pipe is not None and self._pipe_key == key:
            return self._pipe
        self.status, self.message = "loading", f"Loading {s.model_id} ({s.pipeline_class})…"
        try:
            self._pipe = load_pipeline(
                s.model_id,
                s.pipeline_class,
                s.controlnet_ids,
                device=self.device,
                cpu_offload=s.cpu_offload,
                compile_unet=s.compile_unet,
                motion_adapter_id=s.motion_adapter_id,
            )
        except Exception as exc:
            self.status, self.message = "error", str(exc)
            raise
        self._pipe_key = key
        self.status, self.message = "ready", f"Loaded {type(self._pipe).__name__} on {self.device}"
        return self._pipe

    # --- planning ---------------------------------------------------------------------------

    def spec(self) -> RenderSpec:
        """Validate the settings and parse them once into a frozen render spec (no model)."""
        return RenderSpec.from_settings(self.settings, audio=self._audio_schedule())

    def plan(self) -> FramePlan:
        """Validate the settings and return the frame plan (no model needed)."""
        return self.spec().plan

    def _audio_schedule(self) -> AudioSchedule | None:
        """The audio-driven schedule (analysed once per file, fps, component and reducer)."""
        s = self.settings
        if s.interpolation_type != "audio" or not s.audio_input:
            return None
        key = (s.audio_input, s.fps, s.audio_component, s.mel_reduce)
        if self._audio is None or self._audio[0] != key:
            self._audio = (key, AudioSchedule(*key))
        return self._audio[1]

    # --- media helpers: what the panel's buttons call ---------------------------------------

    def audio_key_frame_text(self, prompts: list[str] | None = None) -> str:
        """``N: timestamp: S.SS`` lines where ``audio_key_frames`` says (onsets, beats or
        bars), at the session's fps; with ``prompts``, those on the key frames in order."""
        return self.audio_keys(prompts).text

    def audio_keys(self, prompts: list[str] | None = None) -> AudioKeys:
        """The audio input's key frames (see ``audio_key_frame_text``), with their times."""
        s = self.settings
        if not s.audio_input:
            raise SettingsError("audio_input", "choose an audio file first")
        source = parse_key_source(s.audio_key_frames)
        return audio_keys(s.audio_input, s.fps, s.audio_component, source, prompts)

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

    @property
    def busy(self) -> bool:
        """True while a render runs."""
        return self._busy.locked()

    def stop(self) -> None:
        """Ask a running render to stop; the batch in flight is dropped, frames done are kept."""
        self._stop.set()
        if self.status == "rendering":
            self.status = "stopping"

    def render_frames(self, frames: Iterable[int] | None = None) -> Iterator[RenderedFrame]:
        """Render ``frames`` (default: all) call by call, yielding each frame as it is done.

        Each frame depends only on the settings and its index, so any subset renders alone
        and the batch size does not change the frames. Nothing is written.
        """
        with self._rendering():
            calls = self._local_calls(self.spec())
            spec = calls.job.spec
            if spec.needs_pacing:
                spec = spec.with_pacing(calls.probe(spec))
                self.pacing = spec.pacing
            yield from cadenced_calls(calls, spec, None if frames is None else list(frames))

    def render(
        self,
        *,
        progress: bool = False,
        run_name: str | None = None,
        resume: str | Path | None = None,
        ray: RayOptions | None = None,
    ) -> Path | None:
        """Render every frame into a run folder and return the GIF/MP4 written: here, or on
        Ray actors (``ray``, or ``workers`` above 1).

        The folder holds ``settings.json`` (written first), ``frames/NNNN.png`` (each saved
        atomically as soon as it is rendered) and the output. Stopping (``stop()`` or Ctrl-C)
        keeps the frames done and writes an output of them; ``None`` when no frame was
        finished. ``resume=RUN_DIR`` takes that run's settings and renders only its missing
        frames (damaged ones again), giving the same frames as an uninterrupted render.
        """
        with self._rendering():
            if resume is not None:
                self.load_settings(Path(resume) / "settings.json")
            spec = self.spec()
            options = dict(
                output_dir=self.output_dir,
                run_name=run_name,
                resume=None if resume is None else Path(resume),
                progress=progress,
            )
            if ray is None and spec.settings.workers > 1:
                ray = RayOptions(spec.settings.workers)
            if ray is not None and spec.motion is None:
                workers = spec.settings.workers if ray.workers is None else ray.workers
                with RayCalls(workers, ray, self._stop, self._note) as calls:
                    output, spec = render_run(spec, calls, self, self._stop, **options)
            else:
                calls = self._local_calls(spec)
                output, spec = render_run(
                    spec,
                    calls,
                    self,
                    self._stop,
                    background=not writes_in_line(self.device.type),
                    pipeline_name=type(self._pipe).__name__,
                    **options,
                )
                if ray is not None:
                    self.message = f"{ONE_WORKER}. {self.message}"
            self.pacing = spec.pacing
            return output

    def _local_calls(self, spec: RenderSpec) -> LocalCalls:
        """Calls in this process on the spec's prepared job."""
        pipe = self.load_pipeline(spec.settings)
        notes: list[str] = []
        job = prepare_job(
            spec,
            pipe,
            self.device,
            siblings=self._siblings,
            callback=self._on_step_end,
            on_message=notes.append,
        )
        for note in notes:
            self._note(note)
        return LocalCalls(job, self._stop, self._note, notes)

    @contextlib.contextmanager
    def _rendering(self) -> Iterator[None]:
        """One render at a time; each starts with no stop request."""
        if not self._busy.acquire(blocking=False):
            raise SessionBusy("this session is already rendering; wait for it, or stop() it")
        try:
            self._stop.clear()
            yield
        finally:
            self._busy.release()

    def _note(self, message: str) -> None:
        self.message = message

    def _on_step_end(self, pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
        if self._stop.is_set():
            pipe._interrupt = True
        return tensors

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


def _pipeline_key(settings: Settings | FrozenSettings) -> tuple:
    return (
        settings.model_id.strip(),
        settings.pipeline_class,
        tuple(settings.controlnet_ids),
        settings.motion_adapter_id.strip(),
        settings.cpu_offload,
        settings.compile_unet,
    )
