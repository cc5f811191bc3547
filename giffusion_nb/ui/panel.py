"""The dashboard panel: a studio of settings (left) and the stage (right: Render, progress, the
viewer, the previews), bound to one RenderSession; long jobs run off the kernel's main thread."""

from __future__ import annotations

import html
import time
import traceback
from pathlib import Path

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.safe_paths import append_text
from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.actions import Action, Jobs, summary
from giffusion_nb.ui.buttons import button
from giffusion_nb.ui.field_checks import FieldChecks
from giffusion_nb.ui.fields import SettingField, make_fields
from giffusion_nb.ui.inputs import InputTools
from giffusion_nb.ui.labels import label
from giffusion_nb.ui.layout import SECTIONS, section, section_of, studio, style_sheet
from giffusion_nb.ui.previews import Previews
from giffusion_nb.ui.progress import Progress
from giffusion_nb.ui.prompt_tools import PromptTools
from giffusion_nb.ui.run_tools import RunTools
from giffusion_nb.ui.uploads import MAX_UPLOAD_MB
from giffusion_nb.ui.viewer import Viewer

_STATUS_COLOURS = {"error": "#b00020", "done": "#1b5e20", "stopped": "#e65100"}


class Panel(widgets.VBox):
    """Every control of the dashboard, bound to ``session``; the session knows nothing of it."""

    def __init__(self, session: RenderSession, *, upload_mb: float = MAX_UPLOAD_MB) -> None:
        self.session = session
        self.upload_mb = upload_mb
        self.fields: dict[str, SettingField] = make_fields(session.settings)
        self.checks = FieldChecks(session.settings, self.fields)
        self.jobs = Jobs(self._set_busy, self.show_error)

        self.load = Action("Load", "gnb-load", "Load the model named above", "Loading the model…")
        self.render_button = button("Render", "gnb-render", "Render every frame", "success")
        self.stop_button = button("Stop", "gnb-stop", "Stop after the batch in flight", "danger")
        self.stop_button.disabled = True
        self.resume = Action(
            "Resume", "gnb-resume", "Render the run's missing frames", "Resuming the run…"
        )
        self.status = widgets.HTML()
        self.status.add_class("gnb-status")
        self.progress = Progress(session)
        self.viewer = Viewer(session)
        self.previews = Previews(session)
        self.prompt_tools = PromptTools(session, self.jobs)
        self.inputs = InputTools(
            session,
            self.jobs,
            self.prompt_tools,
            upload_mb=lambda: self.upload_mb,
            show_error=self.show_error,
            show_prompts=lambda: self._open_section("prompts"),
        )
        self.run_tools = RunTools(session, self.resume, self.show_error)
        self.sections = self._sections()

        self.load.button.on_click(lambda _: self.jobs.start(self.load, self._load))
        self.render_button.on_click(lambda _: self.start_render())
        self.stop_button.on_click(lambda _: self.session.stop())
        self.resume.button.on_click(lambda _: self.start_render(resume=True))
        session.observe(self._on_status, names=["status", "message"])
        self._on_status()
        self.checks.check_all()

        controls = widgets.HBox([self.render_button, self.stop_button, self.progress.widget])
        controls.add_class("gnb-controls")
        stage = [controls, self.status, self.viewer.widget, self.previews.widget]
        super().__init__([style_sheet(), studio(list(self.sections.values()), stage)])
        self.add_class("gnb-panel")

    def _sections(self) -> dict[str, widgets.Accordion]:
        extras: dict[str, list[widgets.Widget]] = {
            "Pipeline settings": [self.load.widget],
            "Prompts": [self.prompt_tools.widget],
            "Runs and tracking": [self.run_tools.widget],
            **self.inputs.extras(),
        }
        return {
            title: section(title, [self.fields[name].box for name in names] + extras.get(title, []))
            for title, names in SECTIONS
        }

    # --- actions ----------------------------------------------------------------------------

    def start_render(self, *, resume: bool = False) -> bool:
        """Render (or resume a run) unless a setting is invalid: then every invalid field shows
        its error, its section opens, and the status line says how many there are."""
        if self.jobs.running:
            return False
        for field in self.fields.values():
            field.report("")  # errors a render found are checked again by this one
        invalid = self.checks.check_all()
        if invalid:
            for name in invalid:
                self._open_section(name)
            count = f"{len(invalid)} setting{'s' if len(invalid) > 1 else ''}"
            names = ", ".join(label(name) for name in invalid)
            self._set_status("error", f"{count} to fix before rendering: {names}")
            return False
        run_dir = self.run_tools.run_path.value.strip() or self.session.run_dir
        if resume and not run_dir:
            self.resume.show_error("Type a run folder to resume above, or render first.")
            return False
        self.progress.reset()
        self.viewer.start_run()
        job = (lambda: self._render(run_dir)) if resume else (lambda: self._render(None))
        return self.jobs.start(self.resume if resume else None, job)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running load or render ends (for tests and scripts)."""
        self.jobs.wait(timeout)

    def show_error(self, error: BaseException) -> None:
        """A user error by its field (its section opens) and in the status line; anything else
        as a one-line summary there, with the traceback in a log file."""
        text = summary(error)
        if isinstance(error, SettingsError) and error.field in self.fields:
            self.fields[error.field].report(text)
            self._open_section(error.field)
        log = self._log_failure(error)
        self._set_status("error", f"{text} (details in {log})" if log else text)

    def _load(self) -> str:
        before = self.session.pipeline
        started = time.monotonic()
        pipe = self.session.load_pipeline()
        what = f"{type(pipe).__name__} ({self.session.settings.model_id.strip()})"
        if pipe is before:
            return f"Already loaded: {what} on {self.session.device}; nothing to do."
        return f"Loaded {what} on {self.session.device} in {time.monotonic() - started:.1f} s."

    def _render(self, resume: str | None) -> str:
        try:
            output = self.session.render(resume=resume)
        except Exception as exc:
            self.viewer.finish_run(None, summary(exc))
            raise
        self.viewer.finish_run(output)
        return self.session.message

    def _log_failure(self, error: BaseException) -> Path | None:
        """Write the traceback of an unexpected error (or of a user error's cause) to the run's
        ``error.log``, or ``output_dir/error.log`` outside a run."""
        if isinstance(error, SettingsError) and error.__cause__ is None:
            return None
        run_dir = self.session.run_dir if not isinstance(error, SettingsError) else ""
        log = Path(run_dir) / "error.log" if run_dir else self.session.output_dir / "error.log"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = f"--- {stamp}\n{''.join(traceback.format_exception(error))}"
        append_text(log, text, "output_dir")  # a link planted at error.log is not followed
        return log

    # --- reactions to the session -----------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        for control in (
            self.load.button,
            self.render_button,
            self.resume.button,
            self.prompt_tools.inspire.button,
            self.inputs.audio_keys.button,
            self.inputs.video_keys.button,
        ):
            control.disabled = busy
        self.stop_button.disabled = not busy

    def _set_status(self, status: str, message: str) -> None:
        colour = _STATUS_COLOURS.get(status, "#333")
        self.status.value = (
            f"<span style='color:{colour}'><b>{html.escape(status)}</b> · "
            f"{html.escape(message)}</span>"
        )

    def _on_status(self, _change: dict | None = None) -> None:
        self._set_status(self.session.status, self.session.message)

    def _open_section(self, name: str) -> None:
        """Open the section holding setting ``name`` (other open sections stay open)."""
        title = section_of(name)
        if title is not None:
            self.sections[title].selected_index = 0
