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
from giffusion_nb.ui.buttons import button
from giffusion_nb.ui.uploads import save_upload


class RunTools:
    """Settings files in and out of the session, and where a run is resumed from."""

    def __init__(
        self,
        session: RenderSession,
        resume_button: widgets.Button,
        show_error: Callable[[BaseException], None],
    ) -> None:
        self.session = session
        self._show_error = show_error
        self.run_path = widgets.Text(
            placeholder="a run folder or a settings.json", description="Run", tooltip="A run folder"
        )
        self.run_path.add_class("gnb-run-path")
        self.load_button = button("Load settings", "gnb-load-settings", "Take the run's settings")
        self.save_button = button("Save settings", "gnb-save-settings", "Write a settings.json")
        self.upload = widgets.FileUpload(
            accept=".json", multiple=False, description="settings.json"
        )
        self.upload.add_class("gnb-upload-settings")
        self.message = widgets.HTML()
        self.message.add_class("gnb-runs-message")
        self.tracking_link = widgets.HTML()
        self.tracking_link.add_class("gnb-tracking")
        self.load_button.on_click(lambda _: self._guarded(self._load))
        self.save_button.on_click(lambda _: self._guarded(self._save))
        self.upload.observe(self._on_upload, names="value")
        session.observe(self._on_tracking, names="tracking_url")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.run_path, self.load_button, resume_button]),
                widgets.HBox([self.upload, self.save_button]),
                self.message,
                self.tracking_link,
            ]
        )

    def _load(self) -> None:
        path = self.run_path.value.strip()
        if not path:
            raise SettingsError("run", "type a run folder or a settings.json path")
        self._loaded(path, self.session.load_settings(path))

    def _save(self) -> None:
        folder = self.session.output_dir / "settings"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"settings-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path = self.session.save_settings(folder / name)
        self.message.value = f"Saved {html.escape(str(path))}"

    def _on_upload(self, change: dict) -> None:
        if not change["new"]:
            return

        def load_upload() -> None:
            folder = self.session.output_dir / "settings"
            upload, limit = change["new"][0], MAX_SETTINGS_BYTES / 2**20
            path = save_upload(upload, folder, field="settings", max_mb=limit)
            self._loaded(str(path), self.session.load_settings(path))

        self._guarded(load_upload)

    def _loaded(self, path: str, notes: list[str]) -> None:
        lines = [f"Loaded the settings of {html.escape(path)}"] + [html.escape(n) for n in notes]
        self.message.value = "<br>".join(lines)

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except SettingsError as exc:
            self._show_error(exc)
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"

    def _on_tracking(self, _change: dict) -> None:
        url = self.session.tracking_url
        self.tracking_link.value = (
            f"<a href='{html.escape(url)}' target='_blank'>Comet experiment</a>" if url else ""
        )
