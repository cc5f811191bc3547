"""Validation keyed by field: each bad value is reported under its own field and only there,
and every invalid field is reported at once."""

from __future__ import annotations

import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.settings import Settings, setting_names
from giffusion_nb.validation import check_setting, invalid_fields

PROMPTS = "0: a red circle\n12: a blue square"

BAD_VALUES = [
    ("zoom", {"zoom": "0: (1.0), 6: (-0.5)"}),
    ("zoom", {"zoom": "0: (1.0"}),
    ("angle", {"angle": "0: (foo)"}),
    ("angle", {"angle": "0: (1/(t-3))"}),
    ("translate_x", {"translate_x": "0 (3)"}),
    ("translate_y", {"translate_y": "0: (sqrt(-t))"}),
    ("perspective_flip_phi", {"perspective_flip_phi": "0: (0), 6: (95)"}),
    ("perspective_flip_fv", {"perspective_flip_gamma": "0: (3)", "perspective_flip_fv": "0: (0)"}),
    ("perspective_flip_fv", {"perspective_flip_fv": "53"}),  # no angle of the flip
    ("interpolation_args", {"interpolation_type": "sine", "interpolation_args": "1.0, x"}),
    ("interpolation_args", {"interpolation_type": "curve", "interpolation_args": "0: (abc"}),
    ("interpolation_args", {"interpolation_type": "curve", "interpolation_args": "0: (0), 6: (2)"}),
    ("strength", {"strength": "0: (0.5), 6: (1.5)"}),
    ("strength", {"strength": "0: (0.5"}),
    ("strength", {"strength": 1.5}),
    ("lora", {"lora": "owner/name @ 0: (0), 6: (9)"}),
    ("lora", {"lora": "/no/such/ink.safetensors"}),
    ("negative_prompt", {"negative_prompt": "(dark"}),
    ("zoom", {"zoom": "0: (1.0 + 0.1*onset)"}),  # an audio feature without audio
    ("strength", {"strength": "0: (band(40, 120))"}),
    ("lora", {"lora": "owner/name @ 0: (amp)"}),
    ("interpolation_args", {"interpolation_type": "curve", "interpolation_args": "0: (beat)"}),
    ("audio_key_frames", {"audio_key_frames": "every bar and a half"}),
    ("contrast_schedule", {"contrast_schedule": "0.9"}),  # no 2D motion reads it
    ("noise_schedule", {"noise_schedule": "0: (0.1*onset)", "zoom": "1.01"}),
    (
        "anti_blur_kernel",
        {"anti_blur_kernel": "0: (3), 6: (5)", "anti_blur_amount": "0.2", "zoom": "1.01"},
    ),
]


def _errors_by_field(settings: Settings) -> dict[str, SettingsError]:
    return {error.field: error for error in invalid_fields(settings)}


@pytest.mark.parametrize(("field", "values"), BAD_VALUES)
def test_a_bad_value_is_reported_under_its_own_field_and_only_there(field, values):
    settings = Settings(prompts=PROMPTS, **values)
    with pytest.raises(SettingsError) as info:
        check_setting(settings, field)
    assert info.value.field == field
    for other in setting_names():
        if other != field:
            check_setting(settings, other)  # raises nothing
    assert list(_errors_by_field(settings)) == [field]


def test_the_interpolation_type_is_not_blamed_for_its_arguments():
    settings = Settings(prompts=PROMPTS, interpolation_type="curve", interpolation_args="1.0, 2.0")
    check_setting(settings, "interpolation_type")
    with pytest.raises(SettingsError) as info:
        check_setting(settings, "interpolation_args")
    assert info.value.field == "interpolation_args"


def test_a_fixed_value_clears_its_error():
    settings = Settings(prompts=PROMPTS, interpolation_type="curve", interpolation_args="1.0, 2.0")
    assert list(_errors_by_field(settings)) == ["interpolation_args"]
    settings.interpolation_args = "0: (0), 6: (1)"
    assert invalid_fields(settings) == []


def test_every_invalid_field_is_reported_together():
    settings = Settings(
        prompts="0: a red circle\nx: a blue square",
        seed=-1,
        zoom="0: (0)",
        angle="0: (nope)",
        translate_y="0: (1",
        strength=2.0,
        interpolation_type="sine",
        interpolation_args="-1",
        fps=500,
        height=60,
    )
    errors = _errors_by_field(settings)
    assert sorted(errors) == sorted(
        [
            "prompts",
            "seed",
            "zoom",
            "angle",
            "translate_y",
            "strength",
            "interpolation_args",
            "fps",
            "height",
        ]
    )
    assert errors["prompts"].line == 2
    assert "x" in errors["prompts"].message


def test_motion_expressions_are_checked_over_the_prompts_frames():
    # 1 / (t - 20) fails only at frame 20: an error with 21 frames, none with 13.
    settings = Settings(prompts=PROMPTS, angle="0: (1/(t-20))")
    assert invalid_fields(settings) == []
    settings.prompts = "0: a red circle\n20: a blue square"
    (error,) = invalid_fields(settings)
    assert error.field == "angle"
    assert "frame 20" in error.message


def test_defaults_are_valid():
    assert invalid_fields(Settings()) == []


@pytest.fixture
def clicks(tmp_path):
    from helpers import write_clicks

    return write_clicks(tmp_path / "clicks.wav", [0.5, 1.0], 1.5)


def test_audio_features_are_checked_against_the_audio_itself(clicks):
    settings = Settings(prompts=PROMPTS, audio_input=str(clicks), fps=10)
    settings.zoom = "0: (1.0 + 0.1*onset(0, 0.2))"
    settings.strength = "0: (0.3 + 0.5*amp)"
    settings.lora = "owner/name @ 0: (1 - onset)"
    assert invalid_fields(settings) == []
    settings.strength = "0: (0.3 + 0.8*onset)"  # 1.1 on the loudest onset (frame 10)
    errors = _errors_by_field(settings)
    assert list(errors) == ["strength"]
    assert "frame 10 has value 1.1" in errors["strength"].message
    settings.strength = 0.5
    settings.zoom = "0: (1 - onset)"  # 0 at frame 10: zoom must stay positive
    assert "frame 10 has zoom 0.0" in _errors_by_field(settings)["zoom"].message


def test_a_wrong_fps_or_audio_is_not_blamed_on_the_curves_reading_it(clicks):
    settings = Settings(prompts=PROMPTS, audio_input=str(clicks), zoom="0: (1 + onset)")
    settings.fps = 0.0
    assert list(_errors_by_field(settings)) == ["fps"]
    settings.fps = 10
    settings.audio_input = str(clicks.parent / "missing.wav")
    assert list(_errors_by_field(settings)) == ["audio_input"]
