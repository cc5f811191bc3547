"""The input sections' tools: uploads for the image, audio and video inputs, the image input's
thumbnail, and *Get key frame information* for the audio and the video."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.actions import Action, Jobs
from giffusion_nb.ui.buttons import png_bytes
from giffusion_nb.ui.prompt_tools import PromptTools, key_frame_numbers
from giffusion_nb.ui.uploads import save_upload

THUMBNAIL_PX = 160
_ACCEPT = {"image_input": "image/*", "audio_input": "audio/*", "video_input": "video/*"}


class InputTools:
    """Files into the session's inputs, and key frames out of its audio or video input."""

    def __init__(
        self,
        session: RenderSession,
        jobs: Jobs,
        prompt_tools: PromptTools,
        *,
        upload_mb: Callable[[], float],
        show_error: Callable[[BaseException], None],
        show_prompts: Callable[[], None],
    ) -> None:
        self.session, self.jobs, self.prompt_tools = session, jobs, prompt_tools
        self._upload_mb, self._show_error, self._show_prompts = upload_mb, show_error, show_prompts
        self.uploads = {field: self._upload(field, accept) for field, accept in _ACCEPT.items()}
        self.image_preview = widgets.Image(
            format="png", layout=widgets.Layout(max_width=f"{THUMBNAIL_PX}px", display="none")
        )
        self.image_preview.add_class("gnb-image-preview")
        self.audio_keys = Action(
            "Get key frame information",
            "gnb-audio-keyframes",
            "Write a key frame (with its time) at the audio's onsets, beats or bars, as Audio "
            "key frames says, into the prompts box",
            "Finding the audio's key frames (the first time loads librosa: up to a minute)…",
        )
        self.audio_prompts = Action(
            "Put the prompts on them",
            "gnb-audio-prompts",
            "Move the prompts now in the prompts box, in order, onto the audio's onsets, beats "
            "or bars (as Audio key frames says), starting again from the first when there are "
            "more key frames than prompts",
            "Placing the prompts on the audio's key frames…",
        )
        self.video_keys = Action(
            "Get key frame information",
            "gnb-video-keyframes",
            "Write the video's first and last frames into the prompts box; fps becomes the video's",
            "Reading the video…",
        )
        self.audio_keys.button.on_click(lambda _: self.jobs.start(self.audio_keys, self._audio))
        self.audio_prompts.button.on_click(
            lambda _: self.jobs.start(self.audio_prompts, self._audio_prompts)
        )
        self.video_keys.button.on_click(lambda _: self.jobs.start(self.video_keys, self._video))
        session.settings.observe(self._on_image_input, names="image_input")
        self._on_image_input()

    def extras(self) -> dict[str, list[widgets.Widget]]:
        """The widgets each input section shows below its settings."""
        return {
            "Image input": [self.uploads["image_input"], self.image_preview],
            "Audio input": [
                self.uploads["audio_input"],
                self.audio_keys.widget,
                self.audio_prompts.widget,
            ],
            "Video input": [self.uploads["video_input"], self.video_keys.widget],
        }

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
                    max_mb=self._upload_mb(),
                )
            except SettingsError as exc:
                self._show_error(exc)
                return
            setattr(self.session.settings, field, str(path))

        upload.observe(on_upload, names="value")
        return upload

    def _audio(self) -> str:
        keys = self.session.audio_keys()
        text = self._wrote(keys.text, f"the audio's {keys.source.describe()}")
        return _with_note(f"{keys.summary()}. {text}", keys.note)

    def _audio_prompts(self) -> str:
        from giffusion_nb.keyframes.audio_keys import prompt_texts

        keys = self.session.audio_keys(prompt_texts(self.session.settings.prompts))
        what = f"the prompts on the audio's {keys.source.describe()}"
        text = self._wrote(keys.text, what, "the prompts now start there")
        return _with_note(f"{keys.summary()}. {text}", keys.note)

    def _video(self) -> str:
        from giffusion_nb.media.video import key_frame_text

        info = self.session.video_key_frame_info()
        text = self._wrote(key_frame_text(info), "the video")
        return (
            f"{info.num_frames} frames at {info.fps:g} fps, {info.width}×{info.height}; fps set "
            f"to the video's. {text}"
        )

    def _wrote(self, text: str, what: str, hint: str = "write a prompt after each") -> str:
        count = self.prompt_tools.replace(text, what)
        frames = key_frame_numbers(text)
        self._show_prompts()
        return (
            f"Wrote {count} key frames ({_frame_list(frames)}) into Prompts: {hint}; Undo "
            "there puts the old prompts back."
        )

    def _on_image_input(self, _change: dict | None = None) -> None:
        from giffusion_nb.media.image import load_image

        path = self.session.settings.image_input
        try:
            image = load_image(path) if path else None
        except SettingsError:
            image = None  # the field shows why
        if image is not None:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            self.image_preview.value = png_bytes(image)
        self.image_preview.layout.display = None if image is not None else "none"


def _with_note(text: str, note: str) -> str:
    return f"{text} ({note}.)" if note else text


def _frame_list(frames: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(frame) for frame in frames[:limit])
    return "frames " + shown + (", …" if len(frames) > limit else "")
