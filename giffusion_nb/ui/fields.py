"""One labelled widget per setting, bound both ways to the session's settings, with its error."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from giffusion_nb.choices import SCHEDULERS
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families import known_pipelines, model_examples
from giffusion_nb.pipelines.load import AUTO_PIPELINES
from giffusion_nb.settings import (
    Settings,
    coerce_value,
    setting_choices,
    setting_help,
)
from giffusion_nb.ui.labels import label
from giffusion_nb.validation import check_setting

MODEL_CHOICES = ("builtin:shapes-sd", "builtin:tiny-sd", *model_examples())
# The checkpoint's own class, the Auto pipelines, then every class of every family.
PIPELINE_CHOICES = ("DiffusionPipeline", *AUTO_PIPELINES, *known_pipelines())
AUDIO_KEY_CHOICES = ("onsets", "beats", "2 beats", "4 beats", "bars", "2 bars", "4 bars")
TREATMENT_EXAMPLES = {
    "noise_schedule": "0: (0.02), 60: (0.04)",
    "contrast_schedule": "0: (1.0), 30: (0.98)",
    "anti_blur_amount": "0: (0.2)",
    "anti_blur_sigma": "0: (1.0) · empty: 1",
    "anti_blur_kernel": "0: (5) · empty: from sigma",
    "anti_blur_threshold": "0: (4) · empty: 0",
}
CONTROLNET_CHOICES = ("lllyasviel/sd-controlnet-canny", "lllyasviel/sd-controlnet-depth")


class SettingField:
    """A setting's row: its label (with the setting's help as tooltip), its widget bound both
    ways to the setting, and its error line below, shown only while there is an error.

    Edits coerce and set the setting; text that cannot be the setting's type stays in the
    widget with its error. Changes of the setting (code, a loaded file) show in the widget.
    """

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
        self._typed_error = ""  # the widget's text is not a value of the setting's type
        self._reported_error = ""  # found by a render; shown until the setting changes
        self.message = ""
        css = name.replace("_", "-")
        help_text = html.escape(setting_help(name), quote=True)
        widget.tooltip = setting_help(name)
        widget.add_class(f"gnb-{css}")
        widget.layout.width = widget.layout.width or "auto"
        widget.layout.flex = "1 1 auto"
        self.label = widgets.HTML(f'<span title="{help_text}">{html.escape(label(name))}</span>')
        self.label.add_class("gnb-field-label")
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error.add_class("gnb-field-error")
        row = widgets.HBox([self.label, widget], layout=widgets.Layout(width="100%"))
        self.box = widgets.VBox([row, self.error])
        self.box.add_class("gnb-field")
        widget.value = to_widget(getattr(settings, name))
        widget.observe(self._on_widget, names="value")
        settings.observe(self._on_setting, names=name)

    def show(self, check_error: str = "") -> str:
        """Show this field's error and return it (empty when valid): text in the widget that is
        no value, else ``check_error`` (the setting's check), else what a render reported."""
        self.message = self._typed_error or check_error or self._reported_error
        self.error.value = (
            f"<span class='gnb-error-text'>{html.escape(self.message)}</span>"
            if self.message
            else ""
        )
        self.error.layout.display = None if self.message else "none"
        return self.message

    def check(self) -> str:
        """Validate the setting now; show and return its error (empty when valid)."""
        try:
            check_setting(self.settings, self.name)
        except SettingsError as exc:
            return self.show(str(exc))
        return self.show()

    def report(self, message: str) -> None:
        """An error about this setting found elsewhere (by a render): shown until it changes."""
        self._reported_error = message
        self.check()

    def _on_widget(self, change: dict) -> None:
        if self._updating:
            return
        try:
            value = coerce_value(self.name, change["new"])
        except SettingsError as exc:
            self._typed_error = str(exc)
            self.check()
            return
        self._typed_error = self._reported_error = ""
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
        self._typed_error = self._reported_error = ""
        self.check()


def make_fields(settings: Settings) -> dict[str, SettingField]:
    """A bound field for every setting, keyed by the setting's name."""
    fields: dict[str, SettingField] = {}

    def add(name: str, widget: widgets.ValueWidget, to_widget=lambda value: value) -> None:
        fields[name] = SettingField(settings, name, widget, to_widget=to_widget)

    text, optional = _as_text, _optional_int
    add("model_id", widgets.Combobox(options=MODEL_CHOICES, ensure_option=False))
    add("pipeline_class", widgets.Combobox(options=PIPELINE_CHOICES, ensure_option=False))
    add("controlnet_ids", widgets.Combobox(options=CONTROLNET_CHOICES), to_widget=", ".join)
    add("motion_adapter_id", widgets.Text(placeholder="video models: a MotionAdapter"))
    add("key_frame_model", widgets.Text(placeholder="video models: an image model"))
    add("lora", widgets.Textarea(rows=2, placeholder="styles/ink.safetensors @ 0: (0), 24: (1)"))
    add("cpu_offload", widgets.Checkbox(indent=False))
    add("compile_unet", widgets.Checkbox(indent=False))
    add("prompts", widgets.Textarea(rows=6, placeholder="0: a (red:1.2) corgi --neg blurry"))
    add("negative_prompt", widgets.Textarea(rows=2))
    add("seed", widgets.IntText())
    add("num_inference_steps", widgets.Text(placeholder="50 or 0: (20), 30: (40)"), to_widget=text)
    add("guidance_scale", widgets.Text(placeholder="7.5 or 0: (7.5), 30: (3)"), to_widget=text)
    add("strength", widgets.Text(placeholder="0.5 or 0: (0.4), 30: (0.8)"), to_widget=text)
    add("use_fixed_latent", widgets.Checkbox(indent=False))
    add("use_prompt_embeds", widgets.Checkbox(indent=False))
    add("scheduler", widgets.Dropdown(options=("default", *SCHEDULERS)))
    add("scheduler_kwargs", widgets.Textarea(rows=2, placeholder="{}"), to_widget=_as_json)
    add("pipeline_kwargs", widgets.Textarea(rows=2, placeholder="{}"), to_widget=_as_json)
    add("batch_size", widgets.IntText())
    add("video_window", widgets.Text(placeholder="the model's"), to_widget=optional)
    add("video_overlap", widgets.IntText())
    add("video_join", widgets.Dropdown(options=setting_choices("video_join")))
    add("height", widgets.Text(placeholder="the model's size"), to_widget=optional)
    add("width", widgets.Text(placeholder="the model's size"), to_widget=optional)
    add("num_latent_channels", widgets.Text(placeholder="the model's"), to_widget=optional)
    add("interpolation_type", widgets.Dropdown(options=setting_choices("interpolation_type")))
    add("pacing", widgets.Dropdown(options=setting_choices("pacing")))
    add("interpolation_args", widgets.Text(placeholder="sine: 1.0, 2.0 · curve: 0: (0), 30: (1)"))
    add("output_format", widgets.Dropdown(options=setting_choices("output_format")))
    add("fps", widgets.Text(placeholder="10, 24, 29.97 or 30000/1001"), to_widget=text)
    for name in ("image_input", "video_input", "audio_input"):
        add(name, widgets.Text(placeholder="a file path, or upload below"))
    add("audio_key_frames", widgets.Combobox(options=AUDIO_KEY_CHOICES, ensure_option=False))
    add("audio_component", widgets.Dropdown(options=setting_choices("audio_component")))
    add("mel_reduce", widgets.Dropdown(options=setting_choices("mel_reduce")))
    for name, example in (
        ("zoom", "0: (1.0), 30: (1.02)"),
        ("angle", "0: (0), 30: (1.5)"),
        ("translate_x", "0: (2)"),
        ("translate_y", "0: (-1)"),
        ("perspective_flip_theta", "0: (0), 30: (1)"),
        ("perspective_flip_phi", "0: (2)"),
        ("perspective_flip_gamma", "0: (-2)"),
        ("perspective_flip_fv", "53"),
    ):
        add(name, widgets.Text(placeholder=example))
    add("padding_mode", widgets.Dropdown(options=setting_choices("padding_mode")))
    for name in ("color_coherence", "color_coherence_space"):
        add(name, widgets.Dropdown(options=setting_choices(name)))
    add("color_coherence_image", widgets.Text(placeholder="with `image`: a file path"))
    add("diffusion_cadence", widgets.IntText())
    for name in ("cadence_warp", "optical_flow"):
        add(name, widgets.Dropdown(options=setting_choices(name)))
    add("interpolate_frames", widgets.IntText())
    add("seed_behavior", widgets.Dropdown(options=setting_choices("seed_behavior")))
    add("seed_iter_n", widgets.IntText())
    add("seed_schedule", widgets.Text(placeholder="with `schedule`: 0: (7), 24: (99)"))
    for name, example in TREATMENT_EXAMPLES.items():
        add(name, widgets.Text(placeholder=example))
    add("workers", widgets.IntText())
    add("comet", widgets.Checkbox(indent=False))
    add("comet_frame_stride", widgets.IntText())
    add("inspiration_model", widgets.Text(placeholder="empty: the built-in word lists"))
    return fields


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _as_json(value: dict) -> str:
    return json.dumps(value) if value else ""
