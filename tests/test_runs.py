"""Saved runs: settings files with notes, re-rendering a run, resuming a crashed one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import pixels
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.settings import Settings


def _frames(run_dir) -> list[np.ndarray]:
    return [pixels(Image.open(p)) for p in sorted((run_dir / "frames").glob("*.png"))]


def test_from_run_renders_the_same_frames_again(make_session, tiny_pipe, tmp_path):
    first = make_session(
        prompts="0: a red circle\n4: a blue square",
        interpolation_type="sine",
        interpolation_args="1.0",
        scheduler="Euler",
        seed=11,
        negative_prompt="blurry",
    )
    output = first.render()
    again = RenderSession.from_run(
        output.parent, output_dir=tmp_path / "again", device="cpu", pipeline=tiny_pipe
    )
    assert again.settings.to_dict() == first.settings.to_dict()
    second = again.render()
    assert second.parent != output.parent
    for a, b in zip(_frames(output.parent), _frames(second.parent), strict=True):
        assert np.array_equal(a, b)


def test_old_files_load_with_notes_and_bad_ones_say_why(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "prompts": "0: a corgi", "seed": 3}))
    notes: list[str] = []
    settings = Settings.load(path, notes)
    assert settings.seed == 3 and settings.prompts == "0: a corgi"
    assert any(note == "`comet` is missing; using the default False" for note in notes)
    path.write_text(json.dumps({"schema_version": 1, "sead": 3}))
    with pytest.raises(SettingsError, match="unknown setting") as info:
        Settings.load(path)
    assert info.value.field == "sead"
    path.write_text("[1, 2]")
    with pytest.raises(SettingsError, match="JSON object"):
        Settings.load(path)


def test_resume_renders_only_the_missing_frames(make_session):
    session = make_session(prompts="0: a red circle\n5: a blue square", batch_size=2)
    output = session.render()
    run_dir = output.parent
    reference = _frames(run_dir)
    for index in (1, 4, 5):
        (run_dir / "frames" / f"{index:04d}.png").unlink()
    output.unlink()
    rendered = []
    resumed = make_session()
    resumed.observe(lambda change: rendered.append(change["new"]), "frames_done")
    assert resumed.render(resume=run_dir) == output
    assert rendered == [3, 4, 5, 6]  # 3 frames kept, then only frames 1, 4 and 5 rendered
    for a, b in zip(reference, _frames(run_dir), strict=True):
        assert np.array_equal(a, b)
    with Image.open(output) as gif:
        assert gif.n_frames == 6


def test_resume_with_motion_continues_from_the_last_saved_frame(make_session):
    settings = {"prompts": "0: a red circle\n5: a blue square", "translate_x": "0: (3)"}
    output = make_session(**settings).render()
    run_dir = output.parent
    reference = _frames(run_dir)
    for index in (3, 4, 5):
        (run_dir / "frames" / f"{index:04d}.png").unlink()
    make_session().render(resume=run_dir)
    for a, b in zip(reference, _frames(run_dir), strict=True):
        assert np.array_equal(a, b)


def _cli(*args, cwd):
    return [sys.executable, "-m", "giffusion_nb.cli", *args]


def _fast_settings(path, last_frame: int):
    """A settings file for a quick CLI render of ``last_frame + 1`` frames, one at a time."""
    Settings(
        prompts=f"0: a red circle\n{last_frame}: a blue square",
        num_inference_steps=2,
        height=64,
        width=64,
        batch_size=1,
    ).save(path)
    return path


def test_a_killed_cli_render_resumes_to_the_same_frames(tmp_path):
    settings = _fast_settings(tmp_path / "settings.json", last_frame=23)
    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        _cli("render", str(settings), "--output-dir", str(killed_dir), "--quiet", cwd=tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            frames = list(killed_dir.glob("*/frames/*.png"))
            if len(frames) >= 6 or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the render ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    (run_dir,) = list(killed_dir.iterdir())
    assert (run_dir / "settings.json").exists()
    saved = sorted((run_dir / "frames").iterdir())
    assert all(path.suffix == ".png" for path in saved), "a temp file was left as a frame"
    for path in saved:
        Image.open(path).load()  # every frame on disk is complete
    assert 6 <= len(saved) < 24
    result = subprocess.run(
        _cli("render", "--resume", str(run_dir), "--quiet", cwd=tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    whole = subprocess.run(
        _cli(
            "render",
            str(settings),
            "--output-dir",
            str(tmp_path / "whole"),
            "--quiet",
            cwd=tmp_path,
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr
    (whole_dir,) = list((tmp_path / "whole").iterdir())
    resumed_frames, whole_frames = _frames(run_dir), _frames(whole_dir)
    assert len(resumed_frames) == len(whole_frames) == 24
    for a, b in zip(resumed_frames, whole_frames, strict=True):
        assert np.abs(a - b).max() <= 1
    with Image.open(result.stdout.strip().splitlines()[-1]) as gif:
        assert gif.n_frames == 24


@pytest.mark.parametrize("presses", [1, 2])  # 2: an impatient person, 5 ms apart
def test_ctrl_c_stops_a_cli_render_with_a_playable_partial_gif(tmp_path, presses):
    settings = _fast_settings(tmp_path / "settings.json", last_frame=39)
    process = subprocess.Popen(
        _cli(
            "render", str(settings), "--output-dir", str(tmp_path / "out"), "--quiet", cwd=tmp_path
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if len(list((tmp_path / "out").glob("*/frames/*.png"))) >= 4:
            break
        time.sleep(0.05)
    for _press in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.005)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr
    output = stdout.strip().splitlines()[-1]
    frames = list((tmp_path / "out").glob("*/frames/*.png"))
    assert 4 <= len(frames) < 40
    with Image.open(output) as gif:
        assert gif.n_frames == len(frames)
    assert "Stopped after" in stderr
