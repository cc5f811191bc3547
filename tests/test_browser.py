"""The Voilà dashboard in a real browser (Playwright on Debian's Chromium), one server for all
checks, each numbered problem of the dashboard v2 issue driven as a user meets it.

Skipped where Chromium or Playwright is missing. Screenshots of the studio before and after a
render are copied to /tmp/giffusion-studio-before.png and /tmp/giffusion-studio-after.png, and
a strip of a curve handle's drag to /tmp/giffusion-curve-drag.png, and the zoom curve with the
audio feature it reads beneath it to /tmp/giffusion-audio-curve.png (docs/audio-curve.png).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from browser_curves import AUDIO_CLICKS, DRAGGED_ZOOM, audio_beneath_a_curve, drag_a_zoom_handle
from browser_support import (
    ACTION_S,
    BROKEN_IMAGES,
    CHROMIUM,
    CHROMIUM_ARGS,
    FEEDBACK_RECORDER,
    FIELD_ROWS,
    field_error,
    full_page_screenshot,
    log_tail,
    move_slider,
    open_section,
    shown_pixels,
    type_into,
    voila_server,
)
from helpers import pixels, write_clicks, write_video
from PIL import Image

from giffusion_nb.keyframes.shape_words import WORDS
from giffusion_nb.settings import setting_help, setting_names
from giffusion_nb.ui.labels import LABELS

SCREEN = {"width": 1280, "height": 800}
SHOTS = Path("/tmp")
PANEL_S = 150  # until the kernel has run the cell and the widgets are drawn
LOAD_S = 120  # loading the shipped shapes model
RENDER_S = 180  # rendering 7 frames at 64 px, 10 steps
CULL = ("--MappingKernelManager.cull_idle_timeout=15", "--MappingKernelManager.cull_interval=3")
PROMPTS = "0: a red circle\n6: a blue square"
NUM_FRAMES = 7
STEPS = "10"  # not the dashboard's default (12), so the saved value proves the typing
PICKED_FRAME = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")
    # The shipped voila.json culls after a minute; the same options, shorter, keep this quick.
    with voila_server(tmp_path_factory.mktemp("voila"), *CULL) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def test_studio_end_to_end(server, browser, tmp_path):
    from playwright.sync_api import expect

    started = time.monotonic()
    page = browser.new_page(viewport=SCREEN)
    page.set_default_timeout(ACTION_S * 1000)
    expect.set_options(timeout=ACTION_S * 1000)
    external: list[str] = []
    page.on("request", lambda request: _note_external(request.url, external))
    try:
        page.goto(server.url, wait_until="domcontentloaded", timeout=PANEL_S * 1000)
        page.locator("button.gnb-render").wait_for(state="visible", timeout=PANEL_S * 1000)
        page.evaluate(FEEDBACK_RECORDER)
        _before_a_render(page, expect, tmp_path)
        _errors_where_the_mistake_is(page, expect)
        drag_a_zoom_handle(page, expect, SHOTS / "giffusion-curve-drag.png")
        clicks = write_clicks(tmp_path / "clicks.wav", list(AUDIO_CLICKS), 2.5)
        audio_beneath_a_curve(page, expect, clicks, SHOTS / "giffusion-audio-curve.png")
        _feedback_next_to_each_button(page, expect, tmp_path)
        gif_box = _render_and_the_viewer(page, expect, server, tmp_path)
        _mp4_at_the_gifs_size(page, expect, gif_box)
        _a_bad_model_id_in_words(page, expect)
        page.wait_for_timeout(500)
        assert external == [], f"the page fetched from the internet: {external}"
    except Exception as exc:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(
            f"{type(exc).__name__}: {exc}\nstatus: {_text(page, '.gnb-status')!r}\n"
            f"failure screenshot: {shot}\n--- Voilà log ---\n{log_tail(server.log)}"
        ) from exc
    finally:
        page.close()
    _check_files(server)
    print(f"\nbrowser test: the studio driven in {time.monotonic() - started:.1f} s")


def test_closed_and_reloaded_pages_leave_at_most_one_kernel(server, browser):
    started = time.monotonic()
    page = browser.new_page(viewport=SCREEN)
    peak = 0
    for opening in range(5):
        if opening == 0:
            page.goto(server.url, wait_until="domcontentloaded", timeout=PANEL_S * 1000)
        else:
            page.reload(wait_until="domcontentloaded", timeout=PANEL_S * 1000)
        page.locator("button.gnb-render").wait_for(state="visible", timeout=PANEL_S * 1000)
        peak = max(peak, len(server.kernels()))
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 15 + 3 * 3 + 30  # idle timeout, a few cull rounds, slack
    while len(server.kernels()) > 1 and time.monotonic() < deadline:
        time.sleep(1)
    alive = len(server.kernels())
    print(
        f"\nkernels: {peak} at most while the page was opened 5 times, {alive} alive "
        f"{time.monotonic() - started:.0f} s after the first opening"
    )
    assert alive <= 1, f"{alive} kernels still alive\n{log_tail(server.log)}"


# --- the numbered problems -----------------------------------------------------------------------


def _before_a_render(page, expect, tmp_path):
    """3, 4, 9: the studio fits the screen, no broken images, a tooltip and label on every
    setting, the audio preview says there is no audio."""
    render, screen = page.locator("button.gnb-render"), page.locator(".gnb-screen")
    settings, stage = page.locator(".gnb-settings").bounding_box(), page.locator(".gnb-stage")
    assert settings["x"] + settings["width"] <= stage.bounding_box()["x"] + 1, "not two columns"
    for element in (render, screen):
        box = element.bounding_box()
        assert box["y"] + box["height"] <= SCREEN["height"], f"below the fold: {box}"
    expect(page.locator(".gnb-viewer-caption")).to_have_text("Output")
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.locator(".gnb-viewer img:visible").count() == 0
    rows = {
        next(c[4:].replace("-", "_") for c in row["classes"] if c.startswith("gnb-")): row
        for row in page.evaluate(FIELD_ROWS)
    }
    assert set(rows) == set(setting_names())
    for name, row in rows.items():
        assert row["label"] == LABELS[name], (name, row)
        assert row["labelTitle"] == row["widgetTitle"] == setting_help(name), (name, row)
    page.locator(".gnb-stage .lm-TabBar-tab", has_text="Audio").click()
    expect(page.locator(".gnb-stage")).to_contain_text("no audio input")
    page.locator(".gnb-stage .lm-TabBar-tab", has_text="Interpolation").click()
    _screenshot(page, tmp_path, "before")


def _errors_where_the_mistake_is(page, expect):
    """1: each error under its own field, live, gone when fixed; Render shows them all."""
    open_section(page, "Animation settings")
    kind = page.locator(".gnb-interpolation-type select")
    kind.select_option("sine")
    type_into(page, "interpolation_args", "1.0, 2.0")
    kind.select_option("curve")
    expect(field_error(page, "interpolation_args")).to_contain_text("`interpolation_args`")
    expect(field_error(page, "interpolation_type")).to_be_hidden()
    type_into(page, "interpolation_args", "0: (0), 6: (1)")
    expect(field_error(page, "interpolation_args")).to_be_hidden()
    type_into(page, "interpolation_args", "0: (abc")
    expect(field_error(page, "interpolation_args")).to_contain_text("position")
    for name in ("angle", "translate_x"):
        type_into(page, name, "0: (x")
        expect(field_error(page, name)).to_contain_text(f"`{name}`")
    type_into(page, "zoom", "0: (-1)")
    page.locator("button.gnb-render").click()
    status = page.locator(".gnb-status")
    expect(status).to_contain_text("4 settings to fix before rendering")
    for name in ("interpolation_args", "zoom", "angle", "translate_x"):
        expect(field_error(page, name)).to_be_visible()
    kind.select_option("linear")
    for name in ("interpolation_args", "zoom", "angle", "translate_x"):
        type_into(page, name, "")
        expect(field_error(page, name)).to_be_hidden()


def _feedback_next_to_each_button(page, expect, tmp_path):
    """5, 9: busy and result beside Load and Get key frame information (which opens Prompts),
    inspiration the shapes model can draw, Undo."""
    open_section(page, "Pipeline settings")
    load = page.locator(".gnb-load-feedback")
    page.locator("button.gnb-load").click()
    expect(load).to_contain_text("Loaded StableDiffusionPipeline", timeout=LOAD_S * 1000)
    page.locator("button.gnb-load").click()
    expect(load).to_contain_text("Already loaded")
    assert _next_to(page, "button.gnb-load", ".gnb-load-feedback")

    prompts = page.locator(".gnb-prompts textarea")
    before = prompts.input_value()
    open_section(page, "Video input")
    video = write_video(tmp_path / "clip.mp4", 12)
    with page.expect_file_chooser() as chooser:  # the upload button's file input is detached
        page.locator(".gnb-upload-video").click()
    chooser.value.set_files(str(video))
    expect(page.locator(".gnb-video-input input")).to_have_value(re.compile(r"clip\.mp4$"))
    page.locator(".gnb-section-prompts .jupyter-widget-Collapse-header").click()  # close it
    page.locator("button.gnb-video-keyframes").click()
    feedback = page.locator(".gnb-video-keyframes-feedback")
    expect(feedback).to_contain_text("Wrote 2 key frames (frames 0, 11) into Prompts")
    assert _next_to(page, "button.gnb-video-keyframes", ".gnb-video-keyframes-feedback")
    expect(prompts).to_be_visible()  # the Prompts section opened
    expect(prompts).to_have_value("0: \n11: ")
    page.locator("button.gnb-undo").click()
    expect(prompts).to_have_value(before)
    type_into(page, "video_input", "")

    page.locator("button.gnb-inspire").click()
    expect(page.locator(".gnb-inspire-feedback")).to_contain_text("builtin:shapes-sd words")
    written = [line.split(": ", 1)[1] for line in prompts.input_value().splitlines()]
    assert written and all(word in WORDS for text in written for word in text.split()), written
    page.locator("button.gnb-undo").click()
    expect(prompts).to_have_value(before)
    seen = page.evaluate("() => window.gnbSeen")
    for busy in ("Loading the model", "Reading the video", "Writing prompts"):
        assert any(busy in text for text in seen), (busy, seen)


def _render_and_the_viewer(page, expect, server, tmp_path):
    """2, 3, 8: the live frame ends on the output's last frame; the output in the same viewer;
    no ETA once done; a frame sent back to the image input."""
    type_into(page, "prompts", PROMPTS)
    open_section(page, "Diffusion settings")
    type_into(page, "num_inference_steps", STEPS)
    for name in ("height", "width"):
        type_into(page, name, "64")
    page.locator("button.gnb-render").click()
    expect(page.locator(".gnb-viewer-caption")).to_contain_text(
        "Live frame", timeout=RENDER_S * 1000
    )
    status = page.locator(".gnb-status")
    expect(status).to_contain_text("done", timeout=RENDER_S * 1000)
    expect(status).to_contain_text(f"Rendered {NUM_FRAMES} of {NUM_FRAMES} frames")
    progress = page.locator(".gnb-progress-text")
    expect(progress).to_contain_text(f"{NUM_FRAMES}/{NUM_FRAMES} frames · {NUM_FRAMES} in")
    assert "ETA" not in progress.inner_text()
    run = _run_with(server, "*.gif")
    last, before_last = (pixels(Image.open(run / "frames" / f"{i:04d}.png")) for i in (6, 5))
    live = shown_pixels(page, "img.gnb-live-frame")
    assert np.abs(live - last).max() <= 2, "the live frame is not the output's last frame"
    assert np.abs(live - before_last).mean() > np.abs(live - last).mean()
    media = page.locator("img.gnb-output-media")
    expect(media).to_be_visible()
    gif_box = media.bounding_box()
    expect(page.locator(".gnb-viewer-caption")).to_contain_text(f"{NUM_FRAMES} frames")
    assert page.evaluate(BROKEN_IMAGES) == []
    for element in (page.locator("button.gnb-render"), media):
        box = element.bounding_box()
        assert box["y"] + box["height"] <= SCREEN["height"], f"below the fold: {box}"
    _screenshot(page, tmp_path, "after")
    full_page_screenshot(page, tmp_path / "studio-after-full.png")
    shutil.copyfile(tmp_path / "studio-after-full.png", SHOTS / "giffusion-studio-after-full.png")

    move_slider(page, expect, PICKED_FRAME)
    expect(page.locator("img.gnb-output-frame")).to_be_visible()
    page.locator("button.gnb-send-image").click()
    message = page.locator(".gnb-output-message")
    expect(message).to_contain_text(f"Frame {PICKED_FRAME} is now the image input")
    open_section(page, "Image input")
    image_input = page.locator(".gnb-image-input input")
    expect(image_input).to_have_value(re.compile(f"frame-{PICKED_FRAME:04d}.png$"))
    type_into(page, "image_input", "")
    return gif_box


def _mp4_at_the_gifs_size(page, expect, gif_box: dict):
    """3: an MP4 output shows at the GIF's display size, with its controls."""
    open_section(page, "Output settings")
    page.locator(".gnb-output-format select").select_option("mp4")
    type_into(page, "prompts", "0: a red circle\n2: a blue square")
    page.locator("button.gnb-render").click()
    status = page.locator(".gnb-status")
    expect(status).to_contain_text("Rendered 3 of 3 frames", timeout=RENDER_S * 1000)
    video = page.locator("video.gnb-output-video, .gnb-output-video video").first
    expect(video).to_be_visible()
    box = video.bounding_box()
    assert (round(box["width"]), round(box["height"])) == (
        round(gif_box["width"]),
        round(gif_box["height"]),
    ), (box, gif_box)
    assert video.evaluate("v => v.controls")


def _a_bad_model_id_in_words(page, expect):
    """7: a model that cannot load says why in words, by the field and beside Load."""
    open_section(page, "Pipeline settings")
    type_into(page, "model_id", "/nowhere/a-model")
    page.locator("button.gnb-load").click()
    expect(page.locator(".gnb-load-feedback")).to_contain_text("there is no folder")
    expect(field_error(page, "model_id")).to_contain_text("there is no folder")
    assert "local_files_only" not in _text(page, ".gnb-status")
    type_into(page, "model_id", "builtin:shapes-sd")


# --- helpers -----------------------------------------------------------------------------------


def _note_external(url: str, external: list[str]) -> None:
    host = urlparse(url).hostname
    if url.startswith(("http:", "https:", "ws:", "wss:")) and host not in (
        "127.0.0.1",
        "localhost",
    ):
        external.append(url)


def _next_to(page, button: str, feedback: str) -> bool:
    """The feedback line starts within 40 px of its button (to the right or just below)."""
    b = page.locator(button).bounding_box()
    f = page.locator(feedback).bounding_box()
    beside = abs(f["y"] - b["y"]) < 40 and 0 <= f["x"] - (b["x"] + b["width"]) < 40
    below = 0 <= f["y"] - (b["y"] + b["height"]) < 40
    return beside or below


def _screenshot(page, tmp_path: Path, name: str) -> None:
    """The studio as a 1280×800 screen shows it, kept under /tmp to look at."""
    path = tmp_path / f"studio-{name}.png"
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(path))
    with Image.open(path) as shot:
        assert shot.size == (SCREEN["width"], SCREEN["height"]), shot.size
    shutil.copyfile(path, SHOTS / f"giffusion-studio-{name}.png")


def _text(page, selector: str) -> str:
    try:
        return page.locator(selector).inner_text(timeout=2000)
    except Exception as exc:
        return f"(unreadable: {type(exc).__name__})"


def _run_with(server, pattern: str) -> Path:
    runs = [
        d
        for d in server.output_dir.iterdir()
        if d.is_dir() and d.name != "inputs" and list(d.glob(pattern))
    ]
    assert len(runs) == 1, f"expected one run with {pattern} in {server.output_dir}: {runs}"
    return runs[0]


def _check_files(server) -> None:
    run = _run_with(server, "*.gif")
    frames = sorted(p.name for p in (run / "frames").glob("*.png"))
    assert frames == [f"{i:04d}.png" for i in range(NUM_FRAMES)], frames
    saved = json.loads((run / "settings.json").read_text(encoding="utf-8"))
    typed = {k: saved.get(k) for k in ("prompts", "num_inference_steps", "height", "width")}
    assert typed == {
        "prompts": PROMPTS,
        "num_inference_steps": int(STEPS),
        "height": 64,
        "width": 64,
    }
    assert saved["zoom"] == DRAGGED_ZOOM  # the render after the drag used the dragged zoom
    with Image.open(next(run.glob("*.gif"))) as gif:
        assert (gif.n_frames, gif.size) == (NUM_FRAMES, (64, 64))
    picked = list((server.output_dir / "inputs").glob(f"*frame-{PICKED_FRAME:04d}.png"))
    assert len(picked) == 1, f"no frame-{PICKED_FRAME:04d}.png under inputs/: {picked}"
    mp4 = _run_with(server, "*.mp4")
    assert len(list((mp4 / "frames").glob("*.png"))) == 3


def test_make_dashboard_culls_idle_kernels_and_fetches_nothing_from_a_cdn():
    from browser_support import REPO

    culling = json.loads((REPO / "voila.json").read_text())["MappingKernelManager"]
    assert 0 < culling["cull_idle_timeout"] <= 300 and 0 < culling["cull_interval"] <= 60
    assert culling["cull_connected"] is False  # an open page's kernel is never culled
    template = REPO / "share" / "jupyter" / "voila" / "templates" / "giffusion"
    assert json.loads((template / "conf.json").read_text())["base_template"] == "lab"
    makefile = (REPO / "Makefile").read_text()
    assert "--template=giffusion" in makefile and "share/jupyter" in makefile
