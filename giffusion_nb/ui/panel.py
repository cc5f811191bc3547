"""The dashboard panel: widgets bound to one RenderSession, loading and rendering off the main
thread, with progress, live frames, previews and the output viewer."""

from __future__ import annotations

import html
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.buttons import button, png_bytes
from giffusion_nb.ui.fields import SettingField, make_fields
from giffusion_nb.ui.output_viewer import OutputViewer
from giffusion_nb.ui.previews import Previews
from giffusion_nb.ui.run_tools import RunTools
from giffusion_nb.ui.uploads import MAX_UPLOAD_MB, save_upload

SECTIONS = (
    (
        "Pipeline settings",
        (
            "model_id",
            "pipeline_class",
            "controlnet_ids",
            "motion_adapter_id",
            "cpu_offload",
            "compile_unet",
        ),
    ),
    ("Prompts", ("prompts", "negative_prompt", "inspiration_model")),
    ("Image input", ("image_input", "strength")),
    ("Audio input", ("audio_input", "audio_component", "mel_reduce")),
    ("Video input", ("video_input",)),
    (
        "Diffusion settings",
        (
            "seed",
            "num_inference_steps",
            "guidance_scale",
            "scheduler",
            "scheduler_kwargs",
            "batch_size",
            "height",
            "width",
            "num_latent_channels",
            "use_fixed_latent",
            "use_prompt_embeds",
            "pipeline_kwargs",
        ),
    ),
    (
        "Animation settings",
        (
            "interpolation_type",
            "interpolation_args",
            "zoom",
            "angle",
            "translate_x",
            "translate_y",
            "padding_mode",
            "video_window",
            "video_overlap",
        ),
    ),
    ("Output settings", ("output_format", "fps")),
    ("Runs and tracking", ("workers", "comet", "comet_frame_stride")),
)
_FRAME_INTERVAL_S = 0.2  # the live frame is redrawn at most this often


class Panel(widgets.VBox):
    """Every control of the dashboard, bound to ``session``; the session knows nothing of it."""

    def __init__(self, session: RenderSession, *, upload_mb: float = MAX_UPLOAD_MB) -> None:
        self.session = session
        self.upload_mb = upload_mb
        self.fields: dict[str, SettingField] = make_fields(session.settings)
        self._worker: threading.Thread | None = None
        self._started = 0.0
        self._last_frame_shown = 0.0

        self.load_button = button("Load", "gnb-load", "Load the model named above")
        self.render_button = button("Render", "gnb-render", "Render every frame", "success")
        self.stop_button = button("Stop", "gnb-stop", "Stop after the batch in flight", "danger")
        self.stop_button.disabled = True
        self.status = widgets.HTML()
        self.status.add_class("gnb-status")
        self.progress = widgets.IntProgress(min=0, max=1, value=0, description="Frames")
        self.progress.add_class("gnb-progress")
        self.progress_text = widgets.Label()
        self.live_frame = widgets.Image(format="png", layout=widgets.Layout(width="256px"))
        self.image_preview = widgets.Image(format="png", layout=widgets.Layout(width="160px"))
        self.video_info = widgets.HTML()
        self.topics = widgets.Text(
            placeholder="topics, e.g. a corgi, a lighthouse",
            description="Topics",
            tooltip="Comma-separated topics; one key-framed prompt each (optional)",
        )
        self.inspire_button = button(
            "Give me some inspiration", "gnb-inspire", "Fill the prompts box with new prompts"
        )
        self.resume_button = button("Resume", "gnb-resume", "Render the run's missing frames")
        self.run_tools = RunTools(session, self.resume_button, self.show_error)
        self.output = OutputViewer(session)
        self.previews = Previews(session)
        self.accordion = self._sections()
        self.load_button.on_click(lambda _: self._start(self._load))
        self.render_button.on_click(lambda _: self._start(self._render))
        self.stop_button.on_click(lambda _: self.session.stop())
        self.inspire_button.on_click(lambda _: self._start(self._inspire))
        self.resume_button.on_click(lambda _: self._start(self._resume))

        session.observe(self._on_status, names=["status", "message"])
        session.observe(self._on_progress, names=["frames_done", "frames_total"])
        session.observe(self._on_frame, names="latest_frame")
        session.settings.observe(self._on_image_input, names="image_input")
        self._on_status()
        self._on_image_input()
        buttons = widgets.HBox([self.render_button, self.stop_button])
        super().__init__(
            [
                self.accordion,
                self.previews.widget,
                buttons,
                widgets.HBox([self.progress, self.progress_text]),
                self.status,
                self.live_frame,
                self.output.widget,
            ]
        )
        self.add_class("gnb-panel")

    # --- layout -----------------------------------------------------------------------------

    def _sections(self) -> widgets.Accordion:
        extras: dict[str, list[widgets.Widget]] = {
            "Pipeline settings": [self.load_button],
            "Prompts": [widgets.HBox([self.topics, self.inspire_button])],
            "Runs and tracking": [self.run_tools.widget],
            "Image input": [self._upload("image_input", "image/*"), self.image_preview],
            "Audio input": [
                self._upload("audio_input", "audio/*"),
                self._action("Get key frame information", "gnb-audio-keyframes", self._audio),
            ],
            "Video input": [
                self._upload("video_input", "video/*"),
                self._action("Get key frame information", "gnb-video-keyframes", self._video),
                self.video_info,
            ],
        }
        children = []
        for title, names in SECTIONS:
            boxes = [self.fields[name].box for name in names]
            children.append(widgets.VBox(boxes + extras.get(title, [])))
        accordion = widgets.Accordion(children=children, titles=[t for t, _ in SECTIONS])
        accordion.selected_index = 1
        return accordion

    def _upload(self, field: str, accept: str) -> widgets.FileUpload:
        upload = widgets.FileUpload(accept=accept, multiple=False, description="Upload")
        upload.add_class(f"gnb-upload-{field.split('_')[0]}")

        def on_upload(change: dict) -> None:
            if not change["new"]:
                return
            try:
                path = save_upload(
                    change["new"][0],
                    self.session.output_dir / "inputs",
                    field=field,
                    max_mb=self.upload_mb,
                )
            except SettingsError as exc:
                self.show_error(exc)
                return
            setattr(self.session.settings, field, str(path))

        upload.observe(on_upload, names="value")
        return upload

    def _action(self, label: str, css: str, callback: Callable[[], None]) -> widgets.Button:
        action = button(label, css, label)

        def on_click(_button: widgets.Button) -> None:
            try:
                callback()
            except SettingsError as exc:
                self.show_error(exc)

        action.on_click(on_click)
        return action

    # --- actions ----------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running load or render ends (for tests and scripts)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def show_error(self, error: BaseException) -> None:
        """A user error by its field (and in the status line); anything else as a summary."""
        if isinstance(error, SettingsError):
            field = self.fields.get(error.field)
            if field is not None:
                field.show_error(str(error))
                self._open_section(error.field)
            self._set_status("error", str(error))
        else:
            self._set_status("error", f"{type(error).__name__}: {error}")

    def _start(self, job: Callable[[], None]) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        for field in self.fields.values():
            field.show_error("")
        self._worker = threading.Thread(target=self._run, args=(job,), daemon=True)
        self._worker.start()

    def _run(self, job: Callable[[], None]) -> None:
        self._set_busy(True)
        try:
            job()
        except Exception as exc:
            self.show_error(exc)
            self._log_failure(exc)
        finally:
            self._set_busy(False)

    def _load(self) -> None:
        self.session.load_pipeline()

    def _render(self) -> None:
        self._started = time.monotonic()
        self.output.show(None)
        output = self.session.render()
        self.output.show(output)

    def _inspire(self) -> None:
        from giffusion_nb.keyframes.inspiration import inspire

        s = self.session.settings
        result = inspire(
            self.topics.value, fps=s.fps, seed=s.seed, model_id=s.inspiration_model or None
        )
        s.prompts = result.text
        self._set_status("ready", result.message or f"New prompts from {result.source}")

    def _resume(self) -> None:
        run_dir = self.run_tools.run_path.value.strip() or self.session.run_dir
        if not run_dir:
            raise SettingsError("run", "type a run folder to resume, or render first")
        self._started = time.monotonic()
        self.output.show(None)
        self.output.show(self.session.render(resume=run_dir))

    def _audio(self) -> None:
        self.session.settings.prompts = self.session.audio_key_frame_text()

    def _video(self) -> None:
        from giffusion_nb.media.video import key_frame_text

        info = self.session.video_key_frame_info()
        self.session.settings.prompts = key_frame_text(info)
        self.video_info.value = (
            f"{info.num_frames} frames at {info.fps:g} fps, {info.width}×{info.height}; "
            "fps set to the video's. Write a prompt after each key frame."
        )

    def _log_failure(self, error: Exception) -> None:
        if isinstance(error, SettingsError) or not self.session.run_dir:
            return
        log = Path(self.session.run_dir) / "error.log"
        log.write_text("".join(traceback.format_exception(error)), encoding="utf-8")

    # --- reactions to the session -----------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self.load_button.disabled = busy
        self.render_button.disabled = busy
        self.stop_button.disabled = not busy

    def _set_status(self, status: str, message: str) -> None:
        colour = {"error": "#b00020", "done": "#1b5e20", "stopped": "#e65100"}.get(status, "#333")
        self.status.value = (
            f"<span style='color:{colour}'><b>{html.escape(status)}</b> · "
            f"{html.escape(message)}</span>"
        )

    def _on_status(self, _change: dict | None = None) -> None:
        self._set_status(self.session.status, self.session.message)

    def _on_progress(self, _change: dict) -> None:
        done, total = self.session.frames_done, max(self.session.frames_total, 1)
        self.progress.max, self.progress.value = total, done
        elapsed = time.monotonic() - self._started if self._started else 0.0
        rate = done / elapsed if elapsed > 0 and done else 0.0
        eta = (total - done) / rate if rate else 0.0
        self.progress_text.value = (
            f"{done}/{total} frames · {rate:.2f} frames/s · ETA {_clock(eta)}"
            if done
            else f"0/{total} frames"
        )

    def _on_frame(self, change: dict) -> None:
        image = change["new"]
        now = time.monotonic()
        last = self.session.frames_done >= self.session.frames_total
        if image is None or (now - self._last_frame_shown < _FRAME_INTERVAL_S and not last):
            return
        self._last_frame_shown = now
        self.live_frame.value = png_bytes(image)

    def _on_image_input(self, _change: dict | None = None) -> None:
        from giffusion_nb.media.image import load_image

        path = self.session.settings.image_input
        try:
            image = load_image(path) if path else None
        except SettingsError:
            image = None  # the field shows why
        if image is not None:
            image.thumbnail((160, 160))
            self.image_preview.value = png_bytes(image)
        self.image_preview.layout.display = None if image is not None else "none"

    def _open_section(self, name: str) -> None:
        for index, (_title, names) in enumerate(SECTIONS):
            if name in names:
                self.accordion.selected_index = index


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
