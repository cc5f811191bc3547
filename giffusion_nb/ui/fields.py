"""One widget per setting, bound both ways to the session's settings, with its own error line."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.schedules import INTERPOLATION_TYPES
from giffusion_nb.media.audio import AUDIO_COMPONENTS, MEL_REDUCERS
from giffusion_nb.media.motion import PADDING_MODES
from giffusion_nb.settings import SCHEDULERS, Settings, coerce_value, setting_help
from giffusion_nb.validation import check_setting

MODEL_CHOICES = (
    "builtin:shapes-sd",
    "builtin:tiny-sd",
    "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "stabilityai/stable-diffusion-2-1",
    "stabilityai/sdxl-turbo",
    "stabilityai/stable-diffusion-xl-base-1.0",
)
PIPELINE_CHOICES = (
    "DiffusionPipeline",
    "StableDiffusionPipeline",
    "StableDiffusionXLPipeline",
    "AutoPipelineForText2Image",
)
CONTROLNET_CHOICES = ("lllyasviel/sd-controlnet-canny", "lllyasviel/sd-controlnet-depth")
_LABEL_STYLE = {"description_width": "150px"}
_WIDE = widgets.Layout(width="98%")


class SettingField:
    """A setting's widget: edits coerce and set the setting (or show the error below the
    widget); changes of the setting, from code or a loaded file, show in the widget."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        widget: widgets.ValueWidget,
        *,
        to_widget: Callable[[Any], Any] = lambda value: value,
    ) -> None:
        self.settings, self.name, self.widget = settings, name, widget
        self._to_widget = to_widget
        self._updating = False
        widget.tooltip = setting_help(name)
        widget.add_class(f"gnb-{name.replace('_', '-')}")
        self.error = widgets.HTML(layout=widgets.Layout(margin="0 0 0 158px"))
        self.box = widgets.VBox([widget, self.error])
        widget.value = to_widget(getattr(settings, name))
        widget.observe(self._on_widget, names="value")
        settings.observe(self._on_setting, names=name)

    def show_error(self, message: str) -> None:
        """Show ``message`` in red under the widget (empty clears it)."""
        self.error.value = (
            f"<span style='color:#b00020'>{html.escape(message)}</span>" if message else ""
        )

    def check(self) -> None:
        """Validate the setting now and show or clear its error."""
        try:
            check_setting(self.settings, self.name)
        except SettingsError as exc:
            self.show_error(str(exc))
        else:
            self.show_error("")

    def _on_widget(self, change: dict) -> None:
        if self._updating:
            return
        try:
            value = coerce_value(self.name, change["new"])
        except SettingsError as exc:
            self.show_error(str(exc))
            return
        self._updating = True
        try:
            setattr(self.settings, self.name, value)
        finally:
            self._updating = False
        self.check()

    def _on_setting(self, change: dict) -> None:
        if self._updating:
            return
        self._updating = True
        try:
            self.widget.value = self._to_widget(change["new"])
        finally:
            self._updating = False
        self.check()


def make_fields(settings: Settings) -> dict[str, SettingField]:
    """A bound field for every setting, keyed by the setting's name."""
    fields: dict[str, SettingField] = {}

    def add(name: str, widget: widgets.ValueWidget, to_widget=lambda value: value) -> None:
        widget.description = name.replace("_", " ").capitalize()
        widget.style = _LABEL_STYLE
        if widget.layout.width is None:
            widget.layout.width = "98%"
        fields[name] = SettingField(settings, name, widget, to_widget=to_widget)

    text, optional = _as_text, _optional_int
    add("model_id", widgets.Combobox(options=MODEL_CHOICES, ensure_option=False))
    add("pipeline_class", widgets.Combobox(options=PIPELINE_CHOICES, ensure_option=False))
    add("controlnet_ids", widgets.Combobox(options=CONTROLNET_CHOICES), to_widget=", ".join)
    add("motion_adapter_id", widgets.Text(placeholder="AnimateDiff only: a MotionAdapter"))
    add("cpu_offload", widgets.Checkbox(indent=True))
    add("compile_unet", widgets.Checkbox(indent=True))
    add("prompts", widgets.Textarea(rows=6, placeholder="0: a picture of a corgi"))
    add("negative_prompt", widgets.Textarea(rows=2))
    add("seed", widgets.IntText())
    add("num_inference_steps", widgets.IntText())
    add("guidance_scale", widgets.FloatText(step=0.5))
    add("strength", widgets.Text(placeholder="0.5 or 0: (0.4), 30: (0.8)"), to_widget=text)
    add("use_fixed_latent", widgets.Checkbox(indent=True))
    add("use_prompt_embeds", widgets.Checkbox(indent=True))
    add("scheduler", widgets.Dropdown(options=("default", *SCHEDULERS)))
    add("scheduler_kwargs", widgets.Textarea(rows=2, placeholder="{}"), to_widget=_as_json)
    add("pipeline_kwargs", widgets.Textarea(rows=2, placeholder="{}"), to_widget=_as_json)
    add("batch_size", widgets.IntText())
    add("video_window", widgets.IntText())
    add("video_overlap", widgets.IntText())
    add("height", widgets.Text(placeholder="the model's size"), to_widget=optional)
    add("width", widgets.Text(placeholder="the model's size"), to_widget=optional)
    add("num_latent_channels", widgets.Text(placeholder="the model's"), to_widget=optional)
    add("interpolation_type", widgets.Dropdown(options=INTERPOLATION_TYPES))
    add("interpolation_args", widgets.Text(placeholder="sine: 1.0, 2.0 · curve: 0: (0), 30: (1)"))
    add("output_format", widgets.Dropdown(options=("gif", "mp4")))
    add("fps", widgets.FloatText(step=1))
    for name in ("image_input", "video_input", "audio_input"):
        add(name, widgets.Text(placeholder="a file path, or upload below"))
    add("audio_component", widgets.Dropdown(options=AUDIO_COMPONENTS))
    add("mel_reduce", widgets.Dropdown(options=MEL_REDUCERS))
    for name, example in (
        ("zoom", "0: (1.0), 30: (1.02)"),
        ("angle", "0: (0), 30: (1.5)"),
        ("translate_x", "0: (2)"),
        ("translate_y", "0: (-1)"),
    ):
        add(name, widgets.Text(placeholder=example))
    add("padding_mode", widgets.Dropdown(options=PADDING_MODES))
    add("workers", widgets.IntText())
    add("comet", widgets.Checkbox(indent=True))
    add("comet_frame_stride", widgets.IntText())
    add("inspiration_model", widgets.Text(placeholder="empty: the built-in word lists"))
    fields["comet"].widget.description = "Log to Comet"
    return fields


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _as_json(value: dict) -> str:
    return json.dumps(value) if value else ""
