"""Buttons with their own feedback beside them, and the one worker thread that runs their jobs."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.ui.buttons import button

Job = Callable[[], str]


class Action:
    """A button and a feedback line right beside it: what it is doing while its job runs, then
    what it did (or why it could not)."""

    def __init__(self, label: str, css: str, tooltip: str, busy: str, style: str = "") -> None:
        self.button = button(label, css, tooltip, style)
        self.busy_text = busy
        self.feedback = widgets.HTML()
        self.feedback.add_class("gnb-feedback")
        self.feedback.add_class(f"{css}-feedback")
        self.widget = widgets.HBox([self.button, self.feedback])
        self.widget.add_class("gnb-action")

    def show_busy(self) -> None:
        """The busy text, with a spinner."""
        self._say("gnb-busy", self.busy_text)

    def show_result(self, text: str) -> None:
        """What the job did."""
        self._say("gnb-result", text)

    def show_error(self, text: str) -> None:
        """Why the job failed, in red."""
        self._say("gnb-error-text", text)

    def run_now(self, job: Job, on_error: Callable[[BaseException], None]) -> None:
        """Run a quick ``job`` here and show its result or its user error."""
        try:
            self.show_result(job())
        except SettingsError as exc:
            self.show_error(str(exc))
            on_error(exc)

    def _say(self, css: str, text: str) -> None:
        self.feedback.value = f"<span class='{css}'>{html.escape(text)}</span>" if text else ""


class Jobs:
    """Runs one job at a time off the kernel's main thread (loads and renders take long), with
    the panel marked busy meanwhile; a second job while one runs is refused."""

    def __init__(
        self,
        on_busy: Callable[[bool], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._on_busy, self._on_error = on_busy, on_error
        self._worker: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while a job runs."""
        return self._worker is not None and self._worker.is_alive()

    def start(self, action: Action | None, job: Job) -> bool:
        """Run ``job`` in the worker thread; its result text goes beside ``action``'s button.
        Returns False (and runs nothing) while another job runs."""
        if self.running:
            return False
        if action is not None:
            action.show_busy()
        self._on_busy(True)
        self._worker = threading.Thread(target=self._run, args=(action, job), daemon=True)
        self._worker.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job ends (for tests and scripts)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _run(self, action: Action | None, job: Job) -> None:
        try:
            result = job()
        except Exception as exc:
            if action is not None:
                action.show_error(summary(exc))
            self._on_error(exc)
        else:
            if action is not None:
                action.show_result(result)
        finally:
            self._on_busy(False)


def summary(error: BaseException) -> str:
    """One line for the user: a settings error as it is, anything else with its type."""
    if isinstance(error, SettingsError):
        return str(error)
    return f"{type(error).__name__}: {error}"
