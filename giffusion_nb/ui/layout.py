"""The studio layout: settings sections on the left, the stage on the right, one column when the
cell is narrow; and the dashboard's style sheet (inline: nothing is fetched from the internet)."""

from __future__ import annotations

import ipywidgets as widgets

from giffusion_nb.keyframes.treatment_schedule import TREATMENT_FIELDS
from giffusion_nb.media.motion import MOTION_SETTINGS
from giffusion_nb.ui.viewer import SCREEN_PX

SECTIONS = (
    (
        "Pipeline settings",
        (
            "model_id",
            "pipeline_class",
            "controlnet_ids",
            "motion_adapter_id",
            "key_frame_model",
            "lora",
            "cpu_offload",
            "compile_unet",
        ),
    ),
    ("Prompts", ("prompts", "negative_prompt", "inspiration_model")),
    ("Image input", ("image_input", "strength")),
    ("Audio input", ("audio_input", "audio_key_frames", "audio_component", "mel_reduce")),
    ("Video input", ("video_input",)),
    (
        "Diffusion settings",
        (
            "seed",
            "seed_behavior",
            "seed_iter_n",
            "seed_schedule",
            "num_inference_steps",
            "guidance_scale",
            "scheduler",
            "scheduler_kwargs",
            "batch_size",
            "height",
            "width",
            "num_latent_channels",
            "use_fixed_latent",
            "use_prompt_embeds",
            "pipeline_kwargs",
        ),
    ),
    (
        "Animation settings",
        (
            "interpolation_type",
            "interpolation_args",
            "pacing",
            *MOTION_SETTINGS,
            "padding_mode",
            "color_coherence",
            "color_coherence_space",
            "color_coherence_image",
            "diffusion_cadence",
            "cadence_warp",
            "optical_flow",
            *TREATMENT_FIELDS,
            "video_window",
            "video_overlap",
            "video_join",
        ),
    ),
    ("Output settings", ("output_format", "fps", "interpolate_frames")),
    ("Runs and tracking", ("workers", "comet", "comet_frame_stride")),
)
OPEN_SECTIONS = ("Prompts",)

STYLE = f"""
<style>
.gnb-panel {{ --gnb-red: #b00020; --gnb-green: #1b5e20; }}
.gnb-settings {{ flex: 1 1 460px; min-width: 340px; max-width: 720px; }}
.gnb-stage {{ flex: 1 1 520px; min-width: 340px; }}
.gnb-settings .jupyter-widget-Collapse-contents {{ padding: 6px 8px; }}
.gnb-field-label {{ flex: 0 0 150px; min-width: 150px; }}
.gnb-field-label span {{ cursor: help; border-bottom: 1px dotted #999; }}
.gnb-field-error {{ margin-left: 156px; }}
.gnb-error-text {{ color: var(--gnb-red); }}
.gnb-result {{ color: var(--gnb-green); }}
.gnb-busy {{ color: #555; }}
.gnb-busy::before {{
  content: ""; display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em;
  border: 2px solid #999; border-top-color: transparent; border-radius: 50%;
  animation: gnb-spin 0.8s linear infinite; vertical-align: -0.1em;
}}
@keyframes gnb-spin {{ to {{ transform: rotate(360deg); }} }}
.gnb-feedback {{ margin-left: 8px; line-height: 1.3; }}
.gnb-feedback .widget-html-content {{ white-space: normal; line-height: 1.4; }}
.gnb-screen {{ background: #1e1e1e; border-radius: 4px; overflow: hidden; }}
.gnb-screen img, .gnb-screen video {{
  width: {SCREEN_PX}px; height: {SCREEN_PX}px; object-fit: contain;
}}
.gnb-placeholder {{ align-items: center; justify-content: center; color: #bbb; }}
.gnb-placeholder .widget-html-content {{ text-align: center; padding: 1em; }}
.gnb-status .widget-html-content, .gnb-output-message .widget-html-content,
.gnb-output-info .widget-html-content, .gnb-prompts-note .widget-html-content {{
  white-space: normal; overflow-wrap: anywhere; line-height: 1.4;
}}
.gnb-output-info a {{ color: #1565c0; text-decoration: underline; }}
.gnb-studio {{ gap: 16px; }}
@media (max-width: 900px) {{
  .gnb-settings, .gnb-stage {{ flex-basis: 100%; max-width: none; }}
}}
</style>
"""


def section(title: str, children: list[widgets.Widget]) -> widgets.Accordion:
    """A collapsible settings section of its own (several can be open at once)."""
    accordion = widgets.Accordion(children=[widgets.VBox(children)], titles=[title])
    accordion.selected_index = 0 if title in OPEN_SECTIONS else None
    accordion.add_class(f"gnb-section-{title.lower().replace(' ', '-')}")
    return accordion


def section_of(name: str) -> str | None:
    """The title of the section that holds setting ``name``."""
    return next((title for title, names in SECTIONS if name in names), None)


def studio(settings: list[widgets.Widget], stage: list[widgets.Widget]) -> widgets.Box:
    """Two columns that wrap into one in a narrow cell, with the style sheet before them."""
    left = widgets.VBox(settings)
    left.add_class("gnb-settings")
    right = widgets.VBox(stage)
    right.add_class("gnb-stage")
    columns = widgets.Box(
        [left, right],
        layout=widgets.Layout(
            display="flex", flex_flow="row wrap", align_items="flex-start", grid_gap="16px"
        ),
    )
    columns.add_class("gnb-studio")
    return columns


def style_sheet() -> widgets.HTML:
    """The dashboard's CSS, as an HTML widget the panel shows first."""
    return widgets.HTML(STYLE, layout=widgets.Layout(display="none"))
