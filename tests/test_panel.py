"""The dashboard panel without a browser: widgets bound to the session, buttons, errors."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import numpy as np
from helpers import pixels
from PIL import Image

from giffusion_nb.settings import setting_help, setting_names
from giffusion_nb.ui.labels import LABELS
from giffusion_nb.ui.panel import Panel


def decoded(data: bytes) -> np.ndarray:
    return pixels(Image.open(io.BytesIO(data)))


def render(panel: Panel) -> None:
    assert panel.start_render(), panel.status.value
    panel.wait(300)


def test_widgets_and_settings_are_bound_both_ways(panel):
    settings, fields = panel.session.settings, panel.fields
    fields["seed"].widget.value = 123
    assert settings.seed == 123
    settings.guidance_scale = 4.5
    assert fields["guidance_scale"].widget.value == "4.5"
    fields["guidance_scale"].widget.value = "0: (7), 5: (3)"  # a schedule, typed
    assert settings.guidance_scale == "0: (7), 5: (3)"
    fields["num_inference_steps"].widget.value = "12"
    assert settings.num_inference_steps == 12
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


def test_every_setting_has_a_human_label_and_its_help_as_tooltip(panel):
    assert set(panel.fields) == set(setting_names()) == set(LABELS)
    for name, field in panel.fields.items():
        assert field.widget.tooltip == setting_help(name)
        assert field.widget.description == ""  # ipywidgets shows a tooltip only without one
        assert f">{LABELS[name]}<" in field.label.value.replace("&#x27;", "'")
        assert "title=" in field.label.value
    assert LABELS["cpu_offload"] == "CPU offload" and LABELS["fps"] == "FPS"
    assert LABELS["controlnet_ids"] == "ControlNet ids"


def test_each_field_shows_its_own_error_live_and_clears_it(panel):
    fields = panel.fields
    fields["prompts"].widget.value = "0: a corgi\nten: a lion"
    assert "`prompts`, line 2" in fields["prompts"].error.value
    assert fields["prompts"].error.layout.display is None
    fields["prompts"].widget.value = "0: a corgi\n6: a lion"
    assert fields["prompts"].error.value == "" and fields["prompts"].error.layout.display == "none"
    # Sine args, then type curve: the error is the args', not the type's; fixing them clears it.
    fields["interpolation_type"].widget.value = "sine"
    fields["interpolation_args"].widget.value = "1.0, 2.0"
    assert fields["interpolation_args"].message == ""
    fields["interpolation_type"].widget.value = "curve"
    assert fields["interpolation_type"].message == ""
    assert "`interpolation_args`" in fields["interpolation_args"].message
    fields["interpolation_args"].widget.value = "0: (0), 6: (1)"
    assert fields["interpolation_args"].message == ""
    fields["interpolation_args"].widget.value = "0: (abc"
    assert "`interpolation_args`, position" in fields["interpolation_args"].message
    for name in ("angle", "translate_x"):
        fields[name].widget.value = "0: (x"
        assert f"`{name}`" in fields[name].error.value
        fields[name].widget.value = "0: (1)"
        assert fields[name].message == ""
    fields["scheduler_kwargs"].widget.value = '{"a": '
    assert "`scheduler_kwargs`" in fields["scheduler_kwargs"].error.value
    assert panel.session.settings.scheduler_kwargs == {}  # the bad text never reached it
    fields["seed"].widget.value = 5  # another setting changes: the typed error stays
    assert "`scheduler_kwargs`" in fields["scheduler_kwargs"].message


def test_text_that_is_no_text_or_a_nan_is_shown_under_its_field(panel):
    """A lone surrogate (a browser sends "\\ud800" as is) and NaN in the JSON fields never
    reach the settings; the field says what and where."""
    fields = panel.fields
    fields["prompts"].widget.value = "0: a corgi\n6: a \ud800 lion"
    assert "`prompts`, line 2" in fields["prompts"].message
    assert "lone UTF-16 surrogate" in fields["prompts"].message
    fields["negative_prompt"].widget.value = "blurry\udc80"
    assert "`negative_prompt`" in fields["negative_prompt"].message
    fields["pipeline_kwargs"].widget.value = '{"guidance_rescale": NaN}'
    assert "'guidance_rescale' is nan" in fields["pipeline_kwargs"].message
    settings = panel.session.settings
    assert "\ud800" not in settings.prompts and settings.pipeline_kwargs == {}
    assert not panel.start_render()  # Render refuses while a field shows an error


def test_an_error_follows_the_settings_it_depends_on(panel):
    fields, settings = panel.fields, panel.session.settings
    fields["zoom"].widget.value = "0: (1), 20: (-1)"  # positive up to frame 9
    assert fields["zoom"].message == ""
    settings.prompts = "0: a corgi\n15: a lion"  # now frames 10-15 zoom by <= 0
    assert "`zoom`" in fields["zoom"].message
    settings.prompts = "0: a corgi\n5: a lion"
    assert fields["zoom"].message == ""
    image = Path(panel.session.output_dir) / "x.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(image)
    fields["video_input"].widget.value = str(image)  # any existing file will do here
    assert fields["video_input"].message == ""
    settings.image_input = str(image)
    assert "not both" in fields["video_input"].message
    settings.image_input = ""
    assert fields["video_input"].message == ""


def test_render_marks_every_invalid_field_and_does_not_start(panel):
    fields = panel.fields
    fields["prompts"].widget.value = "0: a corgi\nten: a lion"
    fields["zoom"].widget.value = "0: (-1)"
    fields["height"].widget.value = "abc"
    fields["zoom"].show("")  # an error shown earlier and hidden since: Render finds it again
    assert not panel.start_render()
    for name in ("prompts", "zoom", "height"):
        assert f"`{name}`" in fields[name].message
    assert "3 settings to fix before rendering: Prompts, Height (px), Zoom" in panel.status.value
    for title in ("Prompts", "Diffusion settings", "Animation settings"):
        assert panel.sections[title].selected_index == 0
    assert panel.session.run_dir == "" and not panel.jobs.running


def test_load_says_what_it_did_next_to_its_button(panel):
    panel.load.button.click()
    panel.wait(120)
    assert "Loaded StableDiffusionPipeline (builtin:tiny-sd)" in panel.load.feedback.value
    panel.load.button.click()
    panel.wait(120)
    assert "Already loaded: StableDiffusionPipeline" in panel.load.feedback.value
    assert panel.session.status == "ready"


def test_a_bad_model_id_says_why_in_words_with_the_detail_in_a_log(panel, tmp_path):
    panel.fields["model_id"].widget.value = str(tmp_path / "no-model-here")
    panel.load.button.click()
    panel.wait(120)
    assert "there is no folder" in panel.load.feedback.value
    assert "there is no folder" in panel.fields["model_id"].message
    assert "local_files_only" not in panel.status.value
    log = panel.session.output_dir / "error.log"
    assert "Traceback" in log.read_text() and str(log) in panel.status.value
    assert panel.sections["Pipeline settings"].selected_index == 0


def test_render_shows_the_live_frame_then_the_output_in_one_viewer(panel):
    viewer = panel.viewer
    assert viewer.placeholder.layout.display == "flex"  # no empty image before a render
    for image in (viewer.live, viewer.media, viewer.video, viewer.still):
        assert image.layout.display == "none" and not image.value
    render(panel)
    session = panel.session
    assert session.status == "done", panel.status.value
    assert panel.progress.bar.value == panel.progress.bar.max == 6
    assert "6/6 frames · 6 in 0:00:" in panel.progress.text.value
    assert "ETA" not in panel.progress.text.value
    # The live frame ended on the output's last frame, though frames arrive faster than redraws.
    last = pixels(Image.open(f"{session.run_dir}/frames/0005.png"))
    assert (decoded(viewer.live.value) == last).all()
    assert viewer.media.value[:6] == b"GIF89a" and viewer.media.layout.display == "flex"
    assert viewer.live.layout.display == "none" and "6 frames" in viewer.caption.value
    assert viewer.slider.max == 5
    viewer.slider.value = 4
    assert viewer.still.layout.display == "flex" and viewer.play.layout.display is None
    assert (
        decoded(viewer.still.value) == pixels(Image.open(f"{session.run_dir}/frames/0004.png"))
    ).all()
    viewer.send_image.click()
    sent = Image.open(session.settings.image_input)
    assert abs(pixels(sent) - pixels(Image.open(f"{session.run_dir}/frames/0004.png"))).mean() < 16
    assert panel.fields["image_input"].widget.value == session.settings.image_input
    assert panel.inputs.image_preview.layout.display is None
    viewer.play.click()
    assert viewer.media.layout.display == "flex" and viewer.still.layout.display == "none"
    assert "Download" in viewer.info.value


def test_an_mp4_shows_at_the_gifs_size_with_controls(panel):
    panel.session.settings.output_format = "mp4"
    render(panel)
    video = panel.viewer.video
    assert video.value[4:8] == b"ftyp" and video.layout.display == "flex"
    assert panel.viewer.media.layout.display == "none"
    size = (panel.viewer.media.layout.width, panel.viewer.media.layout.height)
    assert (video.layout.width, video.layout.height) == size == ("320px", "320px")
    assert video.controls


def test_stop_keeps_a_partial_output_without_a_stale_eta(panel):
    session = panel.session
    session.settings.prompts = "0: a red circle\n40: a blue square"
    session.observe(lambda change: session.stop() if change["new"] == 3 else None, "frames_done")
    render(panel)
    assert session.status == "stopped"
    assert 3 <= session.frames_done < 41  # the batch in flight (4 frames) is finished, no more
    with Image.open(session.output_path) as gif:
        assert gif.n_frames == session.frames_done
    assert "stopped" in panel.status.value
    assert "ETA" not in panel.progress.text.value
    assert f"{session.frames_done}/41 frames" in panel.progress.text.value


def test_a_failed_render_leaves_no_stale_output(panel, monkeypatch):
    render(panel)
    assert panel.viewer.media.layout.display == "flex"
    pipe = panel.session.pipeline

    def failing(self, **kwargs):
        raise RuntimeError("the GPU fell off the bus (injected)")

    monkeypatch.setattr(type(pipe), "__call__", failing)
    render(panel)
    viewer = panel.viewer
    assert viewer.media.layout.display == "none" and viewer.output is None
    assert viewer.placeholder.layout.display == "flex"
    assert "No output" in viewer.caption.value or "No output" in viewer.placeholder.value
    assert viewer.slider.disabled and viewer.send_image.disabled


def test_render_errors_show_by_the_field_without_a_traceback(panel):
    panel.session.settings.pipeline_kwargs = {"no_such_argument": 1}
    render(panel)
    assert "`pipeline_kwargs`" in panel.fields["pipeline_kwargs"].error.value
    assert "error" in panel.status.value and "Traceback" not in panel.status.value
    assert panel.sections["Diffusion settings"].selected_index == 0
    panel.session.settings.pipeline_kwargs = {}
    assert panel.fields["pipeline_kwargs"].message == ""


def test_save_load_settings_and_resume_from_the_panel(panel, tmp_path):
    session, tools = panel.session, panel.run_tools
    session.settings.seed = 77
    tools.save.button.click()
    saved = sorted((session.output_dir / "settings").glob("settings-*.json"))
    assert len(saved) == 1 and "Saved" in tools.save.feedback.value
    session.settings.seed = 1
    tools.run_path.value = str(saved[0])
    tools.load.button.click()
    assert session.settings.seed == 77 and panel.fields["seed"].widget.value == 77
    assert "Loaded the settings of" in tools.load.feedback.value
    tools.run_path.value = str(tmp_path / "nowhere.json")
    tools.load.button.click()
    assert "cannot read" in tools.load.feedback.value
    tools.run_path.value = ""
    render(panel)
    run_dir = session.run_dir
    (tmp_path / "gone").mkdir()
    for index in (2, 3):
        frame = Path(run_dir) / "frames" / f"{index:04d}.png"
        frame.replace(tmp_path / "gone" / f"{index}.png")
    tools.run_path.value = run_dir
    panel.resume.button.click()
    panel.wait(300)
    assert session.status == "done" and session.frames_done == 6
    assert "Rendered 6 of 6 frames" in panel.resume.feedback.value
    assert "6/6 frames · 2 in " in panel.progress.text.value  # this run's frames only
    for index in (2, 3):
        again = pixels(Image.open(f"{run_dir}/frames/{index:04d}.png"))
        assert (again == pixels(Image.open(tmp_path / "gone" / f"{index}.png"))).all()


def test_log_to_comet_from_the_panel(panel, monkeypatch, tmp_path):
    monkeypatch.setenv("COMET_MODE", "offline")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    panel.fields["comet"].widget.value = True
    render(panel)
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
    render(panel)
    assert "RuntimeError: the GPU fell off the bus" in panel.status.value
    assert "Traceback" not in panel.status.value
    log = Path(panel.session.run_dir) / "error.log"
    assert "Traceback" in log.read_text() and "injected" in log.read_text()
    with Image.open(next(Path(panel.session.run_dir).glob("*.gif"))) as gif:
        assert gif.n_frames == 4  # the first batch, rendered before the failure, is kept
    # The viewer shows the last frame it got, and says there is no output.
    assert panel.viewer.live.layout.display == "flex"
    assert "No output: RuntimeError" in panel.viewer.caption.value
