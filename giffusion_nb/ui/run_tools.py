"""The panel's run tools: load and save settings (a run folder or an uploaded settings.json),
the Resume button's place, and the Comet experiment link."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.limits import MAX_SETTINGS_BYTES
from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.actions import Action
from giffusion_nb.ui.uploads import save_upload


class RunTools:
    """Settings files in and out of the session, and where a run is resumed from."""

    def __init__(
        self,
        session: RenderSession,
        resume: Action,
        show_error: Callable[[BaseException], None],
    ) -> None:
        self.session = session
        self._show_error = show_error
        self.run_path = widgets.Text(
            placeholder="a run folder or a settings.json",
            tooltip="A run folder (to resume or to take its settings) or a settings.json",
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.run_path.add_class("gnb-run-path")
        self.load = Action(
            "Load settings", "gnb-load-settings", "Take the run's settings", "Reading…"
        )
        self.save = Action(
            "Save settings", "gnb-save-settings", "Write a settings.json", "Writing…"
        )
        self.upload = widgets.FileUpload(
            accept=".json", multiple=False, description="settings.json"
        )
        self.upload.add_class("gnb-upload-settings")
        self.tracking_link = widgets.HTML()
        self.tracking_link.add_class("gnb-tracking")
        self.load.button.on_click(lambda _: self.load.run_now(self._load, show_error))
        self.save.button.on_click(lambda _: self.save.run_now(self._save, show_error))
        self.upload.observe(self._on_upload, names="value")
        session.observe(self._on_tracking, names="tracking_url")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.run_path]),
                widgets.HBox([self.load.button, resume.button, self.upload, self.save.button]),
                self.load.feedback,
                resume.feedback,
                self.save.feedback,
                self.tracking_link,
            ]
        )

    def _load(self) -> str:
        path = self.run_path.value.strip()
        if not path:
            raise SettingsError("run", "type a run folder or a settings.json path above")
        return self._loaded(path, self.session.load_settings(path))

    def _save(self) -> str:
        folder = self.session.output_dir / "settings"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"settings-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path = self.session.save_settings(folder / name)
        return f"Saved {path}"

    def _on_upload(self, change: dict) -> None:
        if not change["new"]:
            return

        def load_upload() -> str:
            folder = self.session.output_dir / "settings"
            upload, limit = change["new"][0], MAX_SETTINGS_BYTES / 2**20
            path = save_upload(upload, folder, field="settings", max_mb=limit)
            return self._loaded(str(path), self.session.load_settings(path))

        self.load.run_now(load_upload, self._show_error)

    def _loaded(self, path: str, notes: list[str]) -> str:
        return " ".join([f"Loaded the settings of {path}.", *notes])

    def _on_tracking(self, _change: dict) -> None:
        url = self.session.tracking_url
        self.tracking_link.value = (
            f"<a href='{html.escape(url)}' target='_blank'>Comet experiment</a>" if url else ""
        )
