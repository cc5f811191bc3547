"""The stage's one viewer: the live frame while rendering, then the GIF/MP4 at the same size, its
frames on a slider, the buttons that send it back as an input, and a download link."""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.formats import format_of_file
from giffusion_nb.output.writers import frame_path
from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.buttons import button, png_bytes

SCREEN_PX = 320  # every picture in the viewer is shown in a square this big
MAX_DOWNLOAD_MB = 64  # larger outputs get their path only, not an inline download link
FRAME_INTERVAL_S = 0.2  # the live frame is redrawn at most this often (the last one always)
_SCREENS = ("placeholder", "live", "media", "video", "still")


def _screen_layout() -> widgets.Layout:
    return widgets.Layout(width=f"{SCREEN_PX}px", height=f"{SCREEN_PX}px", display="none")


class Viewer:
    """Shows the session's frames as they render and the output afterwards, in one place."""

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self.output: Path | None = None
        self._pending = None  # the newest live frame not yet drawn
        self._drawn_at = 0.0
        self._moving_slider = False
        self.caption = widgets.HTML()
        self.caption.add_class("gnb-viewer-caption")
        self.placeholder = widgets.HTML(layout=_screen_layout())
        self.placeholder.add_class("gnb-placeholder")
        self.live = widgets.Image(format="png", layout=_screen_layout())
        self.live.add_class("gnb-live-frame")
        self.media = widgets.Image(format="gif", layout=_screen_layout())
        self.media.add_class("gnb-output-media")
        self.video = widgets.Video(
            format="mp4", autoplay=True, loop=True, controls=True, layout=_screen_layout()
        )
        self.video.add_class("gnb-output-video")
        self.still = widgets.Image(format="png", layout=_screen_layout())
        self.still.add_class("gnb-output-frame")
        self.slider = widgets.IntSlider(description="Frame", min=0, max=0, disabled=True)
        self.slider.add_class("gnb-frame-slider")
        self.play = button("Play", "gnb-play", "Back to the animation")
        self.play.layout.display = "none"
        self.send_image = button("Send to image input", "gnb-send-image", "This frame")
        self.send_video = button("Send to video input", "gnb-send-video", "The whole render")
        self.send_image.disabled = self.send_video.disabled = True
        self.message = widgets.HTML()
        self.message.add_class("gnb-output-message")
        self.info = widgets.HTML()
        self.info.add_class("gnb-output-info")
        self.slider.observe(self._on_slider, names="value")
        self.play.on_click(lambda _: self._play())
        self.send_image.on_click(self._on_send_image)
        self.send_video.on_click(self._on_send_video)
        session.observe(self._on_latest, names="latest_frame")
        session.observe(self._on_frames_done, names="frames_done")
        screen = widgets.Box(
            [self.placeholder, self.live, self.media, self.video, self.still],
            layout=widgets.Layout(width=f"{SCREEN_PX}px", height=f"{SCREEN_PX}px"),
        )
        screen.add_class("gnb-screen")
        controls = widgets.HBox([self.slider, self.play, self.send_image, self.send_video])
        controls.add_class("gnb-viewer-controls")
        self.widget = widgets.VBox([self.caption, screen, controls, self.message, self.info])
        self.widget.add_class("gnb-viewer")
        self._show_screen("placeholder", "Output", "No render yet: press Render.")

    # --- a run ------------------------------------------------------------------------------

    def start_run(self) -> None:
        """Clear the last output: a render starts."""
        self.output, self._pending = None, None
        self.live.value = b""
        self._set_controls(False)
        self.message.value = self.info.value = ""
        self._show_screen("placeholder", "Live frame", "Waiting for the first frame…")

    def finish_run(self, output: Path | None, failure: str = "") -> None:
        """Show the run's output, or why there is none (with its last frame, if any)."""
        self._draw_pending()
        if output is not None and Path(output).is_file():
            self.show(Path(output))
        elif self.live.value:
            self._show_screen("live", f"No output: {failure or 'no frame was finished'}")
        else:
            self._show_screen("placeholder", "Output", f"No output: {failure or 'no frame'}.")

    def show(self, output: Path) -> None:
        """Display ``output`` (a GIF or MP4 in a run folder) with its frames on the slider."""
        self.output = output
        data = output.read_bytes()
        frames = len(list((output.parent / "frames").glob("*.png")))
        if format_of_file(output).shown_as_image:
            self.media.value = data
        else:
            self.video.value = data
        self._moving_slider = True
        try:
            self.slider.max, self.slider.value = max(frames - 1, 0), 0
        finally:
            self._moving_slider = False
        self._set_controls(True)
        self.message.value = ""
        self.info.value = _describe(output, data)
        self._play()

    # --- live frames ------------------------------------------------------------------------

    def _on_latest(self, change: dict) -> None:
        self._pending = change["new"]
        if time.monotonic() - self._drawn_at >= FRAME_INTERVAL_S:
            self._draw_pending()

    def _on_frames_done(self, _change: dict) -> None:
        # The session counts a frame after publishing it: the last one is drawn here, unthrottled.
        s = self.session
        if s.frames_total and s.frames_done >= s.frames_total:
            self._draw_pending()
        elif self.live.value and self.output is None:
            self.caption.value = _caption(f"Live frame · {s.frames_done} of {s.frames_total}")

    def _draw_pending(self) -> None:
        image, self._pending = self._pending, None
        if image is None:
            return
        self.live.value = png_bytes(image)
        self._drawn_at = time.monotonic()
        s = self.session
        self._show_screen("live", f"Live frame · {s.frames_done} of {s.frames_total}")

    # --- the output ---------------------------------------------------------------------------

    def _on_slider(self, _change: dict) -> None:
        if self._moving_slider or self.output is None:
            return
        path = frame_path(self.output.parent, self.slider.value)
        if path.is_file():
            self.still.value = path.read_bytes()
            total = self.slider.max + 1
            self._show_screen("still", f"Frame {self.slider.value} of {total} (paused)")
            self.play.layout.display = None

    def _play(self) -> None:
        if self.output is None:
            return
        self.play.layout.display = "none"
        kind = "media" if format_of_file(self.output).shown_as_image else "video"
        frames = self.slider.max + 1
        self._show_screen(kind, f"Output · {self.output.name} · {frames} frames")

    def _show_screen(self, name: str, caption: str, placeholder: str = "") -> None:
        for screen in _SCREENS:
            getattr(self, screen).layout.display = "flex" if screen == name else "none"
        if placeholder:
            self.placeholder.value = f"<div>{html.escape(placeholder)}</div>"
        self.caption.value = _caption(caption)

    def _set_controls(self, ready: bool) -> None:
        for control in (self.slider, self.send_image, self.send_video):
            control.disabled = not ready
        if not ready:
            self.play.layout.display = "none"

    def _on_send_image(self, _button: widgets.Button) -> None:
        try:
            path = self.session.use_output_frame(self.slider.value, self.output)
        except SettingsError as exc:
            self.message.value = f"<span class='gnb-error-text'>{html.escape(str(exc))}</span>"
            return
        self.message.value = (
            f"Frame {self.slider.value} is now the image input: {html.escape(str(path))}"
        )

    def _on_send_video(self, _button: widgets.Button) -> None:
        try:
            path = self.session.use_output_as_video(self.output)
        except SettingsError as exc:
            self.message.value = f"<span class='gnb-error-text'>{html.escape(str(exc))}</span>"
            return
        self.message.value = f"The render is now the video input: {html.escape(str(path))}"


def _caption(text: str) -> str:
    return f"<b>{html.escape(text)}</b>"


def _describe(output: Path, data: bytes) -> str:
    folder = html.escape(str(output.parent))
    text = f"Run folder: <code>{folder}</code>"
    if len(data) <= MAX_DOWNLOAD_MB * 1024 * 1024:
        mime = format_of_file(output).mime
        encoded = base64.b64encode(data).decode()
        text += (
            f" · <a download='{html.escape(output.name)}' href='data:{mime};base64,{encoded}'>"
            f"Download {html.escape(output.name)}</a>"
        )
    return text
