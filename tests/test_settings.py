"""Settings: coercion, validation errors that name the field, and the JSON round trip."""

from __future__ import annotations

import json

import pytest
from helpers import solid, write_video

from giffusion_nb.errors import SettingsError
from giffusion_nb.limits import parse_json_object
from giffusion_nb.settings import (
    SCHEMA_VERSION,
    Settings,
    coerce_value,
    setting_help,
    setting_names,
)
from giffusion_nb.validation import validate

ISSUE_NAMES = [
    "model_id", "pipeline_class", "controlnet_ids", "prompts", "negative_prompt", "seed",
    "num_inference_steps", "guidance_scale", "strength", "use_fixed_latent", "use_prompt_embeds",
    "scheduler", "scheduler_kwargs", "pipeline_kwargs", "batch_size", "height", "width",
    "num_latent_channels", "interpolation_type", "interpolation_args", "output_format", "fps",
    "image_input", "video_input", "audio_input", "audio_component", "mel_reduce", "zoom", "angle",
    "translate_x", "translate_y", "padding_mode",
]  # fmt: skip


def test_every_documented_setting_exists_with_a_help_text():
    assert set(ISSUE_NAMES) <= set(setting_names())
    for name in setting_names():
        assert len(setting_help(name)) > 10, name


def test_json_round_trip(tmp_path):
    settings = Settings(
        prompts="0: a\n5: b",
        scheduler="Euler",
        scheduler_kwargs={"use_karras_sigmas": True},
        controlnet_ids=["a/b", "c/d"],
        height=64,
        strength="0: (0.2), 4: (0.8)",
    )
    path = settings.save(tmp_path / "settings.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert Settings.load(path).to_dict() == settings.to_dict()


def test_coercion_of_cli_and_widget_values():
    settings = Settings()
    settings.update(
        seed="12",
        fps=12,
        height="",
        use_fixed_latent="true",
        controlnet_ids="a/b, c/d",
        scheduler_kwargs='{"a": 1}',
        num_inference_steps=20.0,
    )
    assert settings.seed == 12 and settings.fps == 12.0 and settings.height is None
    assert settings.use_fixed_latent is True
    assert settings.controlnet_ids == ["a/b", "c/d"]
    assert settings.scheduler_kwargs == {"a": 1}
    assert settings.num_inference_steps == 20


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("seed", "abc", "expected an integer, got 'abc'"),
        ("seed", True, "expected an integer"),
        ("num_inference_steps", 2.5, "expected an integer"),
        ("guidance_scale", [7.5], "expected a number"),
        ("guidance_scale", float("nan"), "finite"),
        ("use_prompt_embeds", "yes", "expected true or false"),
        ("prompts", 5, "expected text"),
        ("controlnet_ids", 3, "expected a list of names"),
        ("scheduler_kwargs", "[1, 2]", "expected a JSON object"),
        ("pipeline_kwargs", 7, "expected a JSON object"),
        ("colour", "red", "unknown setting"),
    ],
)
def test_coercion_errors_name_the_setting(name, value, words):
    with pytest.raises(SettingsError) as info:
        coerce_value(name, value)
    assert info.value.field == name
    assert words in str(info.value)


def test_bad_json_names_the_position():
    with pytest.raises(SettingsError) as info:
        parse_json_object("scheduler_kwargs", '{"a": 1,, }')
    assert info.value.field == "scheduler_kwargs"
    assert info.value.position == 8
    assert "invalid JSON" in str(info.value)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"prompts": "0: a\n0: b"}, "prompts", "appears twice"),
        ({"num_inference_steps": 0}, "num_inference_steps", "between 1 and 1000"),
        ({"guidance_scale": -1.0}, "guidance_scale", "between"),
        ({"seed": -5}, "seed", "between 0"),
        ({"batch_size": 0}, "batch_size", "between 1 and 64"),
        ({"height": 70}, "height", "divisible by 8 but is 70"),
        ({"width": 8}, "width", "between 16 and 4096"),
        ({"num_latent_channels": 0}, "num_latent_channels", "between"),
        ({"scheduler": "Eulerish"}, "scheduler", "unknown scheduler 'Eulerish'"),
        ({"interpolation_type": "cubic"}, "interpolation_type", "expected one of linear, sine"),
        ({"interpolation_type": "sine", "interpolation_args": "1, x"}, "interpolation_args", ""),
        (
            {"interpolation_type": "curve", "interpolation_args": "0: (0.5"},
            "interpolation_args",
            "",
        ),
        ({"output_format": "avi"}, "output_format", "expected one of gif, mp4"),
        ({"fps": 0.0}, "fps", "between 1 and 120"),
        ({"strength": 1.5}, "strength", "between 0.0 and 1.0"),
        ({"strength": "0: (0.5), 3: (1.4)", "prompts": "0: a\n5: b"}, "strength", "[0, 1]"),
        ({"strength": "0: (0.5"}, "strength", ""),
        ({"model_id": "  "}, "model_id", "must not be empty"),
        ({"pipeline_kwargs": {"latents": 1}}, "pipeline_kwargs", "set by giffusion_nb"),
        ({"negative_prompt": "x" * 10_001}, "negative_prompt", "too long"),
        ({"image_input": "/no/such/image.png"}, "image_input", "no such file"),
        ({"video_input": "/no/such/video.mp4"}, "video_input", "no such file"),
        ({"audio_input": "/no/such/audio.wav"}, "audio_input", "no such file"),
        ({"audio_component": "drums"}, "audio_component", "percussive, harmonic, both"),
        ({"mel_reduce": "sum"}, "mel_reduce", "max, mean, median"),
        ({"interpolation_type": "audio"}, "interpolation_type", "audio"),
        ({"zoom": "0: (1.0), 5: (0)", "prompts": "0: a\n9: b"}, "zoom", "expected a value > 0"),
        ({"angle": "0: (sin(t)"}, "angle", ""),
        ({"translate_x": "0 (3)"}, "translate_x", ""),
        ({"translate_y": "abc"}, "translate_y", ""),
        ({"padding_mode": "wrap"}, "padding_mode", ""),
    ],
)
def test_validation_names_the_field(values, field, words):
    with pytest.raises(SettingsError) as info:  # choices are refused as they are set
        validate(Settings(**values))
    assert info.value.field == field
    assert words in str(info.value)


def test_unknown_key_and_newer_schema_in_a_file(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "colour": "red"}))
    with pytest.raises(SettingsError, match="unknown setting") as info:
        Settings.load(path)
    assert info.value.field == "colour"
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(SettingsError, match="newer") as info:
        Settings.load(path)
    path.write_text('{"fps": 10,\n  oops}')
    with pytest.raises(SettingsError, match="not valid JSON") as info:
        Settings.load(path)
    assert info.value.line == 2


def test_defaults_are_valid():
    validate(Settings())


def test_image_and_video_together_is_an_error(tmp_path):
    solid((10, 20, 30)).save(tmp_path / "a.png")
    write_video(tmp_path / "b.mp4", num_frames=3)
    settings = Settings(image_input=str(tmp_path / "a.png"), video_input=str(tmp_path / "b.mp4"))
    with pytest.raises(SettingsError, match="not both") as info:
        validate(settings)
    assert info.value.field == "video_input"


def test_choice_settings_read_any_case_and_refuse_other_names():
    settings = Settings(output_format=" GIF ", padding_mode="Reflection")
    assert (settings.output_format, settings.padding_mode) == ("gif", "reflection")
    with pytest.raises(SettingsError, match="expected one of border, reflection, zeros"):
        settings.update(padding_mode="wrap")
    assert settings.padding_mode == "reflection"
