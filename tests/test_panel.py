"""The dashboard panel without a browser: widgets bound to the session, buttons, errors."""

from __future__ import annotations

import datetime
import functools
import json
from pathlib import Path

import pytest
from helpers import pixels
from PIL import Image

from giffusion_nb.ui.app import build_app
from giffusion_nb.ui.panel import Panel


@pytest.fixture
def panel(tiny_pipe, tmp_path) -> Panel:
    panel = build_app(
        "builtin:tiny-sd",
        output_dir=tmp_path / "outputs",
        num_inference_steps=2,
        height=64,
        width=64,
        prompts="0: a red circle\n5: a blue square",
    )
    panel.session.device = tiny_pipe.device
    return panel


def test_widgets_and_settings_are_bound_both_ways(panel):
    settings, fields = panel.session.settings, panel.fields
    fields["seed"].widget.value = 123
    assert settings.seed == 123
    settings.guidance_scale = 4.5
    assert fields["guidance_scale"].widget.value == 4.5
    fields["height"].widget.value = ""
    assert settings.height is None
    fields["height"].widget.value = "96"
    assert settings.height == 96
    fields["scheduler_kwargs"].widget.value = '{"use_karras_sigmas": true}'
    assert settings.scheduler_kwargs == {"use_karras_sigmas": True}
    settings.pipeline_kwargs = {"guidance_rescale": 0.5}
    assert json.loads(fields["pipeline_kwargs"].widget.value) == {"guidance_rescale": 0.5}
    fields["controlnet_ids"].widget.value = "a/b, c/d"
    assert settings.controlnet_ids == ["a/b", "c/d"]
    fields["strength"].widget.value = "0: (0.2), 5: (0.6)"
    assert settings.strength == "0: (0.2), 5: (0.6)"
    fields["strength"].widget.value = "0.3"
    assert settings.strength == 0.3
    assert fields["prompts"].widget.tooltip.startswith("One key frame per line")


def test_an_invalid_field_shows_its_error_by_the_field(panel):
    fields = panel.fields
    fields["prompts"].widget.value = "0: a corgi\nten: a lion"
    assert "`prompts`, line 2" in fields["prompts"].error.value
    fields["prompts"].widget.value = "0: a corgi\n3: a lion"
    assert fields["prompts"].error.value == ""
    fields["scheduler_kwargs"].widget.value = '{"a": '
    assert "`scheduler_kwargs`" in fields["scheduler_kwargs"].error.value
    assert panel.session.settings.scheduler_kwargs == {}  # the bad text never reached it
    fields["zoom"].widget.value = "0: (1.0), 2: (-1)"
    assert "`zoom`" in fields["zoom"].error.value


def test_load_render_and_output_viewer(panel):
    panel.load_button.click()
    panel.wait(120)
    assert panel.session.status == "ready"
    assert "Loaded StableDiffusionPipeline" in panel.status.value
    panel.render_button.click()
    panel.wait(300)
    session = panel.session
    assert session.status == "done", panel.status.value
    assert panel.progress.value == panel.progress.max == 6
    assert "6/6 frames" in panel.progress_text.value and "ETA" in panel.progress_text.value
    assert panel.live_frame.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert panel.output.media.value[:6] == b"GIF89a"
    assert panel.output.slider.max == 5
    panel.output.slider.value = 4
    panel.output.send_image.click()
    sent = Image.open(session.settings.image_input)
    frame = Image.open(f"{session.run_dir}/frames/0004.png")
    assert abs(pixels(sent) - pixels(frame)).mean() < 16
    assert panel.fields["image_input"].widget.value == session.settings.image_input
    assert panel.image_preview.layout.display is None
    assert "Download" in panel.output.info.value


def test_stop_keeps_a_partial_output(panel):
    session = panel.session
    session.settings.prompts = "0: a red circle\n40: a blue square"
    session.observe(lambda change: session.stop() if change["new"] == 3 else None, "frames_done")
    panel.render_button.click()
    panel.wait(300)
    assert session.status == "stopped"
    assert 3 <= session.frames_done < 41  # the batch in flight (4 frames) is finished, no more
    with Image.open(session.output_path) as gif:
        assert gif.n_frames == session.frames_done
    assert "stopped" in panel.status.value


def test_render_errors_show_by_the_field_without_a_traceback(panel):
    panel.session.settings.pipeline_kwargs = {"no_such_argument": 1}
    panel.render_button.click()
    panel.wait(120)
    assert "`pipeline_kwargs`" in panel.fields["pipeline_kwargs"].error.value
    assert "error" in panel.status.value and "Traceback" not in panel.status.value
    assert panel.accordion.selected_index == 5  # the Diffusion settings section opened


def test_uploads_are_saved_with_safe_names_and_limited(panel, tmp_path):
    image = Image.new("RGB", (72, 40), (10, 200, 30))
    data = tmp_path / "x.png"
    image.save(data)
    upload = panel.accordion.children[2].children[-2]
    upload.value = (_file("../../evil name.png", data.read_bytes()),)
    path = panel.session.settings.image_input
    assert path.endswith("evil_name.png")
    assert str(panel.session.output_dir / "inputs") in path
    panel.upload_mb = 0.000001
    upload.value = (_file("big.png", b"x" * 100),)
    assert "more than" in panel.fields["image_input"].error.value


def _file(name: str, content: bytes) -> dict:
    """One entry of a FileUpload value, as the browser sends it."""
    return {
        "name": name,
        "type": "image/png",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }


def test_previews_follow_the_panel(panel):
    panel.fields["prompts"].widget.value = "0: a corgi\n4: a lion\n10: a fox"
    panel.previews.refresh()
    assert panel.previews.schedule.key_frame_frames == [0, 4, 10]
    assert list(panel.previews.schedule.line.get_xdata()) == list(range(11))
    panel.fields["interpolation_type"].widget.value = "sine"
    panel.previews.refresh()
    y = panel.previews.schedule.line.get_ydata()
    assert y[0] == 0 and max(y[:4]) == 1.0  # sine travels to the next prompt and back


def test_inspiration_fills_the_prompts_box(panel):
    panel.topics.value = "a corgi, a lighthouse"
    panel.session.settings.fps = 6
    panel.inspire_button.click()
    panel.wait(120)
    lines = panel.fields["prompts"].widget.value.splitlines()
    assert [line.split(":")[0] for line in lines] == ["0", "6"]
    assert "a corgi" in lines[0] and "a lighthouse" in lines[1]
    assert "offline" in panel.status.value


def test_save_load_settings_and_resume_from_the_panel(panel, tmp_path):
    session, tools = panel.session, panel.run_tools
    session.settings.seed = 77
    tools.save_button.click()
    saved = sorted((session.output_dir / "settings").glob("settings-*.json"))
    assert len(saved) == 1 and "Saved" in tools.message.value
    session.settings.seed = 1
    tools.run_path.value = str(saved[0])
    tools.load_button.click()
    assert session.settings.seed == 77 and panel.fields["seed"].widget.value == 77
    tools.run_path.value = str(tmp_path / "nowhere.json")
    tools.load_button.click()
    assert "cannot read" in tools.message.value
    panel.render_button.click()
    panel.wait(300)
    run_dir = session.run_dir
    (tmp_path / "gone").mkdir()
    for index in (2, 3):
        frame = Path(run_dir) / "frames" / f"{index:04d}.png"
        frame.replace(tmp_path / "gone" / f"{index}.png")
    tools.run_path.value = run_dir
    panel.resume_button.click()
    panel.wait(300)
    assert session.status == "done" and session.frames_done == 6
    for index in (2, 3):
        again = pixels(Image.open(f"{run_dir}/frames/{index:04d}.png"))
        assert (again == pixels(Image.open(tmp_path / "gone" / f"{index}.png"))).all()


def test_log_to_comet_from_the_panel(panel, monkeypatch, tmp_path):
    monkeypatch.setenv("COMET_MODE", "offline")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    panel.fields["comet"].widget.value = True
    panel.render_button.click()
    panel.wait(300)
    assert panel.session.status == "done", panel.status.value
    assert "Comet (offline): archive at" in panel.status.value
    assert list((tmp_path / "outputs").glob("*/comet/*.zip"))


def test_unexpected_errors_show_a_summary_and_are_logged_in_full(panel, monkeypatch):
    pipe = panel.session.pipeline or panel.session.load_pipeline()
    original = type(pipe).__call__
    calls = []

    @functools.wraps(original)
    def failing(self, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("the GPU fell off the bus (injected)")
        return original(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", failing)
    panel.render_button.click()
    panel.wait(300)
    assert "RuntimeError: the GPU fell off the bus" in panel.status.value
    assert "Traceback" not in panel.status.value
    log = Path(panel.session.run_dir) / "error.log"
    assert "Traceback" in log.read_text() and "injected" in log.read_text()
    with Image.open(next(Path(panel.session.run_dir).glob("*.gif"))) as gif:
        assert gif.n_frames == 4  # the first batch, rendered before the failure, is kept
