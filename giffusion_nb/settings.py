"""Typed render settings: defaults, help texts and the JSON round trip; coercion.py turns a
typed value into a setting's type, validation.py checks the values."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Float, Int, List, TraitType, Unicode, Union

from giffusion_nb.animation_settings import AnimationSettings
from giffusion_nb.choices import (
    AUDIO_COMPONENTS,
    INTERPOLATION_TYPES,
    MEL_REDUCERS,
    OUTPUT_FORMATS,
    PACINGS,
    PADDING_MODES,
    Choice,
)
from giffusion_nb.coercion import coerce_trait
from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import FrameRate
from giffusion_nb.frozen import freeze, thaw
from giffusion_nb.limits import (
    MAX_SETTINGS_BYTES,
    loads_json,
    read_text_limited,
)
from giffusion_nb.video_settings import VideoSettings

SCHEMA_VERSION = 1
# Arguments the session computes itself; `pipeline_kwargs` may not override them.
MANAGED_ARGUMENTS = frozenset(
    {
        "prompt",
        "negative_prompt",
        "prompt_embeds",
        "negative_prompt_embeds",
        "pooled_prompt_embeds",
        "negative_pooled_prompt_embeds",
        "latents",
        "generator",
        "num_inference_steps",
        "guidance_scale",
        "height",
        "width",
        "output_type",
        "return_dict",
        "callback_on_step_end",
        "callback_on_step_end_tensor_inputs",
        "num_images_per_prompt",
        "num_frames",
    }
)


class Settings(AnimationSettings, VideoSettings):
    """Every setting of a render. Traits, so a panel can link widgets to them (the video
    models' come from ``VideoSettings``, the animator's toolkit's from ``AnimationSettings``).

    >>> settings = Settings(prompts="0: a red circle\\n12: a blue square", fps=12)
    """

    model_id = Unicode(
        "builtin:shapes-sd",
        help="Hub model id (stable-diffusion-v1-5/stable-diffusion-v1-5), a local folder, or "
        "a built-in offline model: builtin:shapes-sd (draws coloured shapes) or builtin:tiny-sd "
        "(random weights, for tests).",
    )
    pipeline_class = Unicode(
        "DiffusionPipeline",
        help="diffusers pipeline class to load the model with; DiffusionPipeline picks the "
        "checkpoint's own.",
    )
    cpu_offload = Bool(
        False, help="Keep only the running model on the GPU: slower, for GPUs with little memory."
    )
    compile_unet = Bool(
        False,
        help="torch.compile the UNet: the first batch is slow (compiling), later ones faster.",
    )
    controlnet_ids = List(
        Unicode(),
        help="ControlNet checkpoints (Hub ids or folders), comma-separated; the pipeline "
        "switches to its ControlNet variant.",
    )
    lora = Unicode(
        "",
        help="LoRA adapters, one a line: `SOURCE @ SCALE`; SOURCE a .safetensors file, a folder "
        "holding one, a Hub id (owner/name) or Hub file (owner/name/file.safetensors); SCALE a "
        "number from -4 to 4 (default 1) or key frames like `0: (0.0), 24: (1.0)`.",
    )
    prompts = Unicode(
        "0: a picture of a corgi\n60: a picture of a lion",
        help="One key frame per line, `frame: prompt`; frames in between travel from one "
        "prompt to the next. `--neg text` ends a line with that key frame's negative prompt; "
        "`--image path` gives a video model a picture to meet at that frame (the prompt may "
        "then be empty); weights as in A1111: `(word:1.3)`, `(word)` ×1.1, `[word]` ÷1.1; "
        "`\\(` is a bracket.",
    )
    negative_prompt = Unicode(
        "", help="What no frame should show (key frames without their own `--neg`)."
    )
    seed = Int(42, help="Seed of the key frames' noise; each key frame gets seed + its frame.")
    num_inference_steps = Union(
        [Int(), Unicode()],
        default_value=50,
        help="Denoising steps per frame: more is slower and finer; or a key-frame string like "
        "`0: (20), 30: (40)`.",
    )
    guidance_scale = Union(
        [Float(), Unicode()],
        default_value=7.5,
        help="How strongly frames follow the prompt (1 turns it off); or a key-frame string "
        "like `0: (7.5), 30: (3)`.",
    )
    strength = Union(
        [Float(), Unicode()],
        default_value=0.5,
        help="How much an init image is changed, 0-1, or a key-frame string like "
        "`0: (0.4), 30: (0.7)`.",
    )
    use_fixed_latent = Bool(False, help="Use one noise latent for every key frame.")
    use_prompt_embeds = Bool(
        True,
        help="Travel between prompt embeddings (slerp); off, each frame takes the text of its "
        "last key frame.",
    )
    scheduler = Unicode(
        "default", help="Noise scheduler; `default` keeps the one the model came with."
    )
    scheduler_kwargs = Dict(help='Scheduler options as JSON, e.g. {"use_karras_sigmas": true}.')
    pipeline_kwargs = Dict(
        help='Extra arguments for the pipeline call as JSON, e.g. {"guidance_rescale": 0.7}.'
    )
    batch_size = Int(1, help="Frames rendered together; frames are the same at any batch size.")
    height = Int(None, allow_none=True, help="Frame height in pixels (empty: the model's size).")
    width = Int(None, allow_none=True, help="Frame width in pixels (empty: the model's size).")
    num_latent_channels = Int(
        None,
        allow_none=True,
        help="Channels of the noise latent (empty: the model's, such as 4 or 16); a number must "
        "match the model.",
    )
    interpolation_type = Choice(
        INTERPOLATION_TYPES,
        "linear",
        help="How frames move between key frames: linear, sine, curve, or audio (following "
        "the audio's energy).",
    )
    interpolation_args = Unicode(
        "",
        help="sine: frequencies like `1.0, 2.0`; curve: a key-frame string with values in "
        "[0, 1], like `0: (0.0), 50: (1.0)`.",
    )
    pacing = Choice(
        PACINGS,
        "schedule",
        help="schedule: frames move as the interpolation says; even: a quick probe render "
        "first measures how the picture changes, then t is re-timed so every frame changes it "
        "by the same amount.",
    )
    output_format = Choice(OUTPUT_FORMATS, "gif", help="gif or mp4.")
    fps = FrameRate(
        10.0,
        help="Frames per second of the output: a number (12, 12.5) or a video rate (29.97 or "
        "30000/1001, both read as exactly 30000/1001); frame k is at exactly k/fps seconds.",
    )
    image_input = Unicode(
        "",
        help="An init image for every frame (image-to-image), or the conditioning image of a "
        "ControlNet; frames take its size.",
    )
    video_input = Unicode(
        "",
        help="A video whose frame i is the init (or ControlNet) image of output frame i; frames "
        "take its size.",
    )
    audio_input = Unicode(
        "",
        help="Audio whose onsets or beats give key frames, whose energy drives the `audio` "
        "interpolation and whose features (amp, onset, beat, perc, harm, band) key-frame "
        "strings may use; muxed into MP4 output.",
    )
    audio_key_frames = Unicode(
        "onsets",
        help="Where Get key frame information puts key frames: onsets, beats, every N beats "
        "(`4 beats`), bars or every N bars (`2 bars`; 4 beats a bar from the first beat, "
        "`2 bars of 3` for 3/4).",
    )
    audio_component = Choice(
        AUDIO_COMPONENTS,
        "percussive",
        help="Part of the audio to follow: percussive, harmonic or both.",
    )
    mel_reduce = Choice(
        MEL_REDUCERS,
        "max",
        help="How a frame's mel-spectrogram energy is summarised: max, mean or median.",
    )
    zoom = Unicode("", help="2D motion: scale per frame as a key-frame string, e.g. `0: (1.02)`.")
    angle = Unicode(
        "", help="2D motion: degrees per frame, counter-clockwise, e.g. `0: (0), 30: (2)`."
    )
    translate_x = Unicode("", help="2D motion: pixels per frame to the right, e.g. `0: (3)`.")
    translate_y = Unicode("", help="2D motion: pixels per frame downwards, e.g. `0: (-2)`.")
    padding_mode = Choice(
        PADDING_MODES,
        "border",
        help="How 2D motion fills uncovered borders: border, reflection or zeros.",
    )
    comet = Bool(
        False,
        help="Log settings, prompts, frames and the output to Comet ML (offline archive in the "
        "run folder without an API key).",
    )
    comet_frame_stride = Int(1, help="Log every n-th frame to Comet (thins long renders).")
    workers = Int(
        1,
        help="Render on this many Ray workers (one GPU each, or CPU processes); 1 renders here.",
    )
    inspiration_model = Unicode(
        "Gustavosta/MagicPrompt-Stable-Diffusion",
        help="A text-generation model (Hub id or folder) for the inspiration button; empty, or "
        "when it cannot be loaded, the built-in word lists.",
    )

    def __init__(self, **values: Any) -> None:
        super().__init__()
        self.update(**values)

    def frozen(self) -> FrozenSettings:
        """An immutable copy of every setting (lists become tuples, dicts read-only)."""
        return FrozenSettings(**{name: freeze(getattr(self, name)) for name in setting_names()})

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name, JSON-ready, with the schema version."""
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        for name in setting_names():
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, list) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], notes: list[str] | None = None) -> Settings:
        """Settings from a dict like the one ``to_dict`` writes; unknown names are errors.

        Names the dict lacks (a file from an older version) keep their defaults; each gets a
        line in ``notes`` when a list is given.
        """
        if not isinstance(data, dict):
            raise SettingsError("settings", f"expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SettingsError("schema_version", f"expected a version number, got {version!r}")
        if version > SCHEMA_VERSION:
            raise SettingsError(
                "schema_version",
                f"the file is version {version}, newer than this giffusion_nb reads "
                f"({SCHEMA_VERSION}); upgrade giffusion_nb",
            )
        settings = cls()
        settings.update(**data)
        if notes is not None:
            for name in setting_names():
                if name not in data:
                    notes.append(
                        f"`{name}` is missing; using the default {getattr(settings, name)!r}"
                    )
        return settings

    def update(self, **values: Any) -> None:
        """Set several settings, coercing each to its type (errors name the setting)."""
        coerced = {name: coerce_value(name, value) for name, value in values.items()}
        for name, value in coerced.items():
            setattr(self, name, value)

    def save(self, path: str | Path) -> Path:
        """Write ``settings.json``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, notes: list[str] | None = None) -> Settings:
        """Read a ``settings.json`` written by ``save`` (see ``from_dict`` for ``notes``)."""
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / "settings.json"
        text = read_text_limited(path, MAX_SETTINGS_BYTES, "settings")
        return cls.from_dict(parse_settings_json(text, path.name), notes)


def _frozen_to_dict(self) -> dict[str, Any]:
    """Every setting by name, JSON-ready, with the schema version (as ``Settings.to_dict``)."""
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    data.update({field.name: thaw(getattr(self, field.name)) for field in dataclasses.fields(self)})
    return data


def parse_settings_json(text: str, name: str = "settings.json") -> dict[str, Any]:
    """The JSON object of a settings file; errors name the line."""
    if len(text) > MAX_SETTINGS_BYTES:
        raise SettingsError(
            "settings",
            f"{name} is too large to be a settings file (at most {MAX_SETTINGS_BYTES:,} bytes)",
        )
    try:
        data = loads_json(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "settings", f"{name} is not valid JSON: {exc.msg}", line=exc.lineno
        ) from None
    except RecursionError:
        raise SettingsError("settings", f"{name} is nested too deeply") from None
    if not isinstance(data, dict):
        raise SettingsError("settings", f"{name} must hold a JSON object")
    return data


def setting_names() -> list[str]:
    """The settings' names, in the order they are declared (and shown in ``settings.json``):
    ``Settings``' own, the video models', then the animator's toolkit's."""
    return [
        name
        for declared in (Settings, VideoSettings, AnimationSettings)
        for name, value in vars(declared).items()
        if isinstance(value, TraitType)
    ]


FrozenSettings = dataclasses.make_dataclass(
    "FrozenSettings",
    [(name, Any) for name in setting_names()],
    frozen=True,
    namespace={
        "__doc__": "Every setting of one render, read-only: what a render reads instead of the "
        "live ``Settings`` (made by ``Settings.frozen()``).",
        "to_dict": _frozen_to_dict,
        "__module__": __name__,
    },
)


def setting_help(name: str) -> str:
    """The one-sentence explanation of a setting (the panel's tooltip)."""
    return Settings.class_traits()[name].help


def coerce_value(name: str, value: Any) -> Any:
    """``value`` converted to setting ``name``'s type, or ``SettingsError``."""
    traits = Settings.class_traits()
    if name not in traits:
        raise SettingsError(name, f"unknown setting; known settings: {', '.join(traits)}")
    return coerce_trait(name, traits[name], value)


def setting_choices(name: str) -> tuple[str, ...]:
    """The names a choice setting takes (the panel's dropdown)."""
    trait = Settings.class_traits()[name]
    if not isinstance(trait, Choice):
        raise ValueError(f"{name} is not a choice setting")
    return tuple(trait.values)


def is_text_setting(name: str) -> bool:
    """True for settings whose values are free text (never parsed as JSON on the CLI)."""
    trait = Settings.class_traits().get(name)
    return isinstance(trait, Unicode) or (
        isinstance(trait, List) and isinstance(trait._trait, Unicode)
    )
