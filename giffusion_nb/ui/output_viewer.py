"""The rendered GIF/MP4 in the panel: a frame slider, send-back buttons, a download link."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.writers import frame_path
from giffusion_nb.render.session import RenderSession

MAX_DOWNLOAD_MB = 64  # larger outputs get their path only, not an inline download link


class OutputViewer:
    """Shows the session's last output and sends its frames back as inputs."""

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self.media = widgets.Image(format="gif", layout=widgets.Layout(width="256px"))
        self.media.add_class("gnb-output-media")
        self.video = widgets.Video(format="mp4", autoplay=True, loop=True, controls=True)
        self.video.layout.display = "none"
        self.slider = widgets.IntSlider(description="Frame", min=0, max=0, disabled=True)
        self.slider.add_class("gnb-frame-slider")
        self.frame = widgets.Image(format="png", layout=widgets.Layout(width="256px"))
        self.send_image = widgets.Button(description="Send to image input", disabled=True)
        self.send_image.add_class("gnb-send-image")
        self.send_video = widgets.Button(description="Send to video input", disabled=True)
        self.send_video.add_class("gnb-send-video")
        self.info = widgets.HTML()
        self.info.add_class("gnb-output-info")
        self.message = widgets.HTML()
        self.message.add_class("gnb-output-message")
        self.slider.observe(self._show_frame, names="value")
        self.send_image.on_click(self._on_send_image)
        self.send_video.on_click(self._on_send_video)
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.media, self.video]),
                widgets.HBox([self.slider, self.send_image, self.send_video]),
                self.frame,
                self.message,
                self.info,
            ]
        )
        self.widget.add_class("gnb-output")

    def show(self, output: Path | None) -> None:
        """Display ``output`` (or clear the viewer when ``None``)."""
        ready = output is not None and output.is_file()
        for control in (self.slider, self.send_image, self.send_video):
            control.disabled = not ready
        self.message.value = ""
        if not ready:
            self.info.value = "No output yet."
            return
        data = output.read_bytes()
        is_gif = output.suffix.lower() == ".gif"
        self.media.layout.display = None if is_gif else "none"
        self.video.layout.display = "none" if is_gif else None
        if is_gif:
            self.media.value = data
        else:
            self.video.value = data
        frames = sorted((output.parent / "frames").glob("*.png"))
        self.slider.max = max(len(frames) - 1, 0)
        self.slider.value = 0
        self._show_frame()
        self.info.value = _describe(output, data)

    def _show_frame(self, _change: dict | None = None) -> None:
        path = frame_path(Path(self.session.run_dir), self.slider.value)
        if path.is_file():
            self.frame.value = path.read_bytes()

    def _on_send_image(self, _button: widgets.Button) -> None:
        try:
            path = self.session.use_output_frame(self.slider.value)
        except SettingsError as exc:
            self.message.value = html.escape(str(exc))
            return
        self.message.value = (
            f"Frame {self.slider.value} is now the image input: {html.escape(str(path))}"
        )

    def _on_send_video(self, _button: widgets.Button) -> None:
        try:
            path = self.session.use_output_as_video()
        except SettingsError as exc:
            self.message.value = html.escape(str(exc))
            return
        self.message.value = f"The render is now the video input: {html.escape(str(path))}"


def _describe(output: Path, data: bytes) -> str:
    folder = html.escape(str(output.parent))
    text = f"Run folder: <code>{folder}</code>"
    if len(data) <= MAX_DOWNLOAD_MB * 1024 * 1024:
        mime = "image/gif" if output.suffix.lower() == ".gif" else "video/mp4"
        encoded = base64.b64encode(data).decode()
        text += (
            f" · <a download='{html.escape(output.name)}' href='data:{mime};base64,{encoded}'>"
            f"Download {html.escape(output.name)}</a>"
        )
    return text
