"""The Camera tab: the camera path (zoom, angle, translation, perspective flip) played on the
init image or a test card in seconds, without the model, before a long render; with a cadence,
the frames the pipeline diffuses are marked."""

from __future__ import annotations

import html
import io
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets
from PIL import Image, ImageDraw

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.camera_path import camera_path, pattern_card
from giffusion_nb.media.image import load_image
from giffusion_nb.media.motion import settings_motion
from giffusion_nb.render.cadence import diffused_frames
from giffusion_nb.ui.feature_strip import preview_features
from giffusion_nb.ui.plot import NOTE_COLOR
from giffusion_nb.ui.plot import prompt_key_frames as read_key_frames

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

FRAME_WIDTH = 512  # the frames' width when neither width nor an init image says it
DIFFUSED_MARK = (255, 40, 40)  # the square in the top right corner of a diffused frame


class CameraPreview:
    """A button that plays the prompts' frames of 2D motion as a looping GIF."""

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self.play = widgets.Button(
            description="Play camera path",
            tooltip="Show the 2D motion of every frame on the init image (or a test card), "
            "without diffusion: seconds, before a long render",
        )
        self.image = widgets.Image(format="gif", layout=widgets.Layout(max_width="256px"))
        self.message = widgets.HTML()
        self.frames = 0
        self.play.on_click(lambda _button: self.update())
        self.widget = widgets.VBox([self.play, self.image, self.message])

    def update(self) -> None:
        """Make the camera path's frames and show them; a settings error is shown instead."""
        s = self.session.settings
        started = time.perf_counter()
        try:
            count = read_key_frames(s)[-1] + 1
            schedule = settings_motion(s, count, preview_features(s))
            start = load_image(s.image_input) if s.image_input else None
        except SettingsError as err:
            self._say(str(err), error=True)
            return
        width = s.width or (start.width if start else FRAME_WIDTH)
        height = s.height or (start.height if start else FRAME_WIDTH)
        frames = list(
            camera_path(start or pattern_card(width, height), schedule, width, s.padding_mode)
        )
        cadence = ""
        if s.diffusion_cadence > 1:
            diffused = diffused_frames(len(frames), s.diffusion_cadence)
            frames = [
                mark_diffused(frame) if k in diffused else frame for k, frame in enumerate(frames)
            ]
            cadence = (
                f"; cadence {s.diffusion_cadence}: {len(diffused)} of {len(frames)} frames "
                "diffused (marked with a red square), the others warped from them"
            )
        buffer = io.BytesIO()
        duration = max(20, round(1000 / float(s.fps)))
        frames[0].save(
            buffer, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
        )
        self.image.value, self.frames = buffer.getvalue(), len(frames)
        seconds = time.perf_counter() - started
        moving = (
            ""
            if schedule.is_active()
            else " (no frame moves: set zoom, angle, translate or a flip angle)"
        )
        picture = "the init image" if start else "a test card"
        self._say(
            f"{len(frames)} frames of the camera path on {picture} in {seconds:.1f} s{moving}"
            f"{cadence}"
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else NOTE_COLOR
        self.message.value = f'<span style="color: {colour}">{html.escape(text)}</span>'


def mark_diffused(frame: Image.Image) -> Image.Image:
    """``frame`` with a small red square in its top right corner (a copy)."""
    marked = frame.copy()
    side = max(4, frame.width // 24)
    ImageDraw.Draw(marked).rectangle(
        [frame.width - 2 * side, side, frame.width - side - 1, 2 * side - 1], fill=DIFFUSED_MARK
    )
    return marked
