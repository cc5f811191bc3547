"""Tests for giffusion_nb.output.tracking: Comet logging, offline only, into a readable archive."""

from __future__ import annotations

import json
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from giffusion_nb.output.tracking import CometTracker

PROMPTS = "0: a red circle\n4: a blue square"
SETTINGS = {
    "seed": 42,
    "guidance_scale": 7.5,
    "output_format": "gif",
    "keyframes": [0, 4],
    "motion": {"zoom": 1.02, "angle": 0},
    "image_input": None,
}


@pytest.fixture(autouse=True)
def offline_comet(monkeypatch, tmp_path):
    """Comet offline, with no key or config file in reach, and online experiments impossible."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    monkeypatch.setenv("COMET_CONFIG", str(home / ".comet.config"))
    monkeypatch.setenv("COMET_MODE", "offline")
    monkeypatch.setenv("COMET_ERROR_TRACKING_ENABLE", "false")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    comet_ml = pytest.importorskip("comet_ml")

    def no_online(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("tests must never create an online Comet experiment")

    monkeypatch.setattr(comet_ml, "Experiment", no_online)
    yield
    lingering = [
        thread.name
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]
    assert not lingering, f"threads left running: {lingering}"


def fake_render(run_dir: Path, count: int = 5) -> tuple[list[Image.Image], Path]:
    """``count`` small frames in ``run_dir/frames`` and a GIF of them as the output."""
    colors = [(230, 30, 30), (30, 200, 40), (40, 60, 220), (240, 220, 40), (200, 40, 200)]
    frames = [Image.new("RGB", (16, 16), colors[i % len(colors)]) for i in range(count)]
    (run_dir / "frames").mkdir(parents=True)
    for index, frame in enumerate(frames):
        frame.save(run_dir / "frames" / f"{index:04d}.png")
    output = run_dir / "render.gif"
    frames[0].save(output, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return frames, output


def read_archive(path: Path) -> dict[str, Any]:
    """The parameters, others, texts, images and assets recorded in an offline archive.

    The archive holds ``messages.json`` (one JSON message per line) and the uploaded files,
    which each ``file_upload`` message names by ``file_path``.
    """
    found: dict[str, Any] = {"parameters": {}, "others": {}, "texts": [], "images": {}}
    found["assets"] = {}
    with zipfile.ZipFile(path) as archive:
        for line in archive.read("messages.json").decode().splitlines():
            message = json.loads(line)
            payload = message["payload"]
            if message["type"] == "parameter_msg":
                param = payload.get("param") or payload["params"]
                if param["source"] == "manual":
                    found["parameters"][param["paramName"]] = param["paramValue"]
            elif message["type"] == "log_other":
                found["others"][payload["key"]] = payload["value"]
            elif message["type"] == "file_upload":
                data = archive.read(payload["file_path"])
                extra = payload["additional_params"]
                if payload["upload_type"] == "text-sample":
                    found["texts"].append(data.decode())
                elif payload["upload_type"] == "visualization":
                    found["images"][extra["figName"]] = (extra["step"], data)
                else:
                    found["assets"][extra["fileName"]] = data
    return found


def test_offline_render_lands_in_archive(tmp_path):
    run_dir = tmp_path / "run"
    frames, output = fake_render(run_dir)
    tracker = CometTracker(frame_stride=2)

    tracker.start(
        SETTINGS, PROMPTS, run_dir=run_dir, pipeline_class="FakePipeline", model_id="fake/model"
    )
    for index, frame in enumerate(frames):
        tracker.log_frame(index, frame)
    tracker.finish(output, {"image_input": "/x/pic.png", "audio_input": ""})

    assert tracker.warning == ""
    assert tracker.offline is True
    assert tracker.url == ""
    assert tracker.archive is not None
    assert tracker.archive.parent == run_dir / "comet"
    assert tracker.archive.suffix == ".zip" and tracker.archive.is_file()
    assert tracker.message == f"Comet (offline): archive at {tracker.archive}"

    found = read_archive(tracker.archive)
    assert found["parameters"]["seed"] == 42
    assert found["parameters"]["output_format"] == "gif"
    assert json.loads(found["parameters"]["keyframes"]) == [0, 4]
    assert json.loads(found["parameters"]["motion"]) == {"zoom": 1.02, "angle": 0}
    assert found["texts"] == [PROMPTS]
    assert found["assets"]["prompts.txt"].decode() == PROMPTS
    assert found["assets"]["render.gif"] == output.read_bytes()
    assert sorted(found["images"]) == ["frame-0000", "frame-0002", "frame-0004"]
    for name, (step, data) in found["images"].items():
        assert step == int(name.removeprefix("frame-"))
        assert data.startswith(b"\x89PNG")
    assert found["others"]["pipeline_class"] == "FakePipeline"
    assert found["others"]["model_id"] == "fake/model"
    assert found["others"]["image_input"] == "pic.png"
    assert "audio_input" not in found["others"]


def test_failure_is_reported_once_and_stops_tracking(tmp_path):
    run_dir = tmp_path / "run"
    frames, output = fake_render(run_dir)
    tracker = CometTracker()
    tracker.start(SETTINGS, PROMPTS, run_dir=run_dir, pipeline_class="P", model_id="m")
    experiment = tracker._experiment
    calls: list[str] = []

    def broken_log_image(*args: Any, **kwargs: Any) -> None:
        calls.append("log_image")
        raise ConnectionError("comet is down")

    experiment.log_image = broken_log_image
    experiment.log_other = lambda *args, **kwargs: calls.append("log_other")
    experiment.log_asset = lambda *args, **kwargs: calls.append("log_asset")

    tracker.log_frame(0, frames[0])
    assert tracker.warning == "Comet logging stopped: ConnectionError: comet is down"
    assert tracker.message == tracker.warning

    for index, frame in enumerate(frames[1:], start=1):
        tracker.log_frame(index, frame)
    tracker.finish(output, {"image_input": "/x/pic.png"})

    assert calls == ["log_image"]
    assert tracker.warning == "Comet logging stopped: ConnectionError: comet is down"
    assert tracker.archive is None
    assert not experiment.alive


def test_missing_comet_ml_does_not_raise(monkeypatch, tmp_path):
    run_dir = tmp_path / "run"
    frames, output = fake_render(run_dir, count=2)
    monkeypatch.setitem(sys.modules, "comet_ml", None)
    tracker = CometTracker()

    tracker.start(SETTINGS, PROMPTS, run_dir=run_dir, pipeline_class="P", model_id="m")
    tracker.log_frame(0, frames[0])
    tracker.finish(output, {"image_input": "/x/pic.png"})

    assert tracker.warning.startswith(
        "Comet logging stopped: ImportError: comet_ml is not available"
    )
    assert "pip install comet_ml" in tracker.warning
    assert tracker.archive is None
    assert not (run_dir / "comet").exists()


def test_api_key_with_offline_mode_stays_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("COMET_API_KEY", "0123456789abcdefABCDEF")
    monkeypatch.setenv("COMET_MODE", "OffLine")
    run_dir = tmp_path / "run"
    frames, output = fake_render(run_dir, count=1)
    tracker = CometTracker()

    tracker.start({"seed": 1}, PROMPTS, run_dir=run_dir, pipeline_class="P", model_id="m")
    tracker.log_frame(0, frames[0])
    tracker.finish(output, {})

    assert tracker.warning == ""
    assert tracker.offline is True
    assert tracker.archive is not None and tracker.archive.is_file()


def test_no_api_key_means_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("COMET_MODE")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    tracker = CometTracker()

    tracker.start({}, PROMPTS, run_dir=run_dir, pipeline_class="P", model_id="m")
    tracker.finish(None, {})

    assert tracker.warning == ""
    assert tracker.offline is True
    assert tracker.archive is not None
    assert read_archive(tracker.archive)["texts"] == [PROMPTS]


def test_a_session_render_logs_to_an_offline_archive(make_session):
    session = make_session(
        prompts="0: a red circle\n4: a blue square", comet=True, comet_frame_stride=2, seed=9
    )
    output = session.render()
    (archive,) = list((output.parent / "comet").glob("*.zip"))
    assert f"Comet (offline): archive at {archive}" in session.message
    found = read_archive(archive)
    assert found["parameters"]["seed"] == 9
    assert found["parameters"]["num_inference_steps"] == 2
    assert found["texts"] == ["0: a red circle\n4: a blue square"]
    assert sorted(found["images"]) == ["frame-0000", "frame-0002", "frame-0004"]
    assert found["assets"][output.name] == output.read_bytes()
    assert found["others"]["pipeline_class"] == "StableDiffusionPipeline"
    assert found["others"]["model_id"] == "builtin:tiny-sd"


@pytest.mark.parametrize("target", ["folder", "dangling"])
def test_a_link_planted_at_the_comet_folder_is_never_written_through(tmp_path, target):
    """Before: the offline archive was written through the link, outside the run folder. Now
    tracking stops with a warning that names the link; the render goes on."""
    run_dir = tmp_path / "run"
    frames, output = fake_render(run_dir, count=2)
    outside = tmp_path / "outside"
    if target == "folder":
        outside.mkdir()
    (run_dir / "comet").symlink_to(outside)
    tracker = CometTracker()
    tracker.start(SETTINGS, PROMPTS, run_dir=run_dir, pipeline_class="P", model_id="m")
    for index, frame in enumerate(frames):
        tracker.log_frame(index, frame)
    tracker.finish(output, {})
    assert "symbolic link" in tracker.warning and "comet" in tracker.warning
    assert tracker.archive is None
    assert not outside.exists() or list(outside.iterdir()) == []
    assert (run_dir / "comet").is_symlink()  # left as it was: the user's to remove
