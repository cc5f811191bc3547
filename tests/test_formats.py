"""The output-format registry: one entry per choice, and a rendered file's format read from it."""

import pytest
from PIL import Image

from giffusion_nb.choices import OUTPUT_FORMATS
from giffusion_nb.errors import SettingsError
from giffusion_nb.output.encoders import open_output
from giffusion_nb.output.formats import FORMATS, format_of_file, output_format


def test_every_output_format_choice_has_one_entry():
    assert tuple(FORMATS) == OUTPUT_FORMATS
    assert all(fmt.name == name and fmt.suffix == f".{name}" for name, fmt in FORMATS.items())


def test_names_read_in_any_case_and_others_name_the_field():
    assert output_format(" GIF ") is FORMATS["gif"]
    with pytest.raises(SettingsError) as caught:
        output_format("webm")
    assert caught.value.field == "output_format"
    assert "'gif' or 'mp4'" in caught.value.message


def test_only_the_video_carries_audio_and_plays_fast():
    assert FORMATS["mp4"].carries_audio and not FORMATS["gif"].carries_audio
    assert FORMATS["gif"].max_fps == 50 < FORMATS["mp4"].max_fps
    assert FORMATS["gif"].shown_as_image and not FORMATS["mp4"].shown_as_image


def test_a_file_is_known_by_its_bytes_and_a_gone_one_by_its_suffix(tmp_path):
    for name in OUTPUT_FORMATS:
        encoder = open_output(tmp_path / f"out.{name}", name, 10)
        encoder.append(Image.new("RGB", (16, 16), "red"))
        encoder.close()
    (tmp_path / "out.gif").rename(tmp_path / "renamed.mp4")
    assert format_of_file(tmp_path / "renamed.mp4") is FORMATS["gif"]
    assert format_of_file(tmp_path / "out.mp4").mime == "video/mp4"
    assert format_of_file(tmp_path / "gone.gif") is FORMATS["gif"]
    assert format_of_file(tmp_path / "gone.mp4") is FORMATS["mp4"]
