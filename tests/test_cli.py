"""The `giffusion-nb` console script, run as users run it (a subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from giffusion_nb.cli import parse_assignment
from giffusion_nb.shapes.classify import dominant_colour

FAST = [
    "--set", "model_id=builtin:tiny-sd",
    "--set", "num_inference_steps=2",
    "--set", "height=64",
    "--set", "width=64",
]  # fmt: skip


def run_cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "giffusion_nb.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )


def test_parse_assignment_reads_json_and_keeps_text_settings_as_text():
    assert parse_assignment("fps=12.5") == ("fps", 12.5)
    assert parse_assignment('scheduler_kwargs={"a": 1}') == ("scheduler_kwargs", {"a": 1})
    assert parse_assignment("negative_prompt=123") == ("negative_prompt", "123")
    assert parse_assignment("prompts=0: a=b") == ("prompts", "0: a=b")
    assert parse_assignment("use_fixed_latent=true") == ("use_fixed_latent", True)


def test_render_from_settings_file_prompts_stdin_and_set(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"fps": 4, "output_format": "gif", "seed": 5}))
    result = run_cli(
        "render", str(settings), "--prompts", "-", *FAST, "--set", "batch_size=2",
        "--output-dir", str(tmp_path / "out"),
        cwd=tmp_path, stdin="0: a red circle\n3: a blue square",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    output = Path(result.stdout.strip().splitlines()[-1])
    assert output.exists() and output.suffix == ".gif"
    assert output.parent.parent == tmp_path / "out"
    with Image.open(output) as gif:
        assert gif.n_frames == 4
        assert gif.info["duration"] == 250
    saved = json.loads((output.parent / "settings.json").read_text())
    assert saved["seed"] == 5 and saved["batch_size"] == 2
    assert saved["prompts"] == "0: a red circle\n3: a blue square"
    assert "frame" in result.stderr  # the tqdm progress bar


def test_user_errors_exit_2_and_name_the_field(tmp_path):
    result = run_cli("render", "--set", "interpolation_type=cubic", cwd=tmp_path)
    assert result.returncode == 2
    assert "`interpolation_type`" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("render", "--set", "colour=red", cwd=tmp_path)
    assert result.returncode == 2
    assert "`colour`: unknown setting" in result.stderr
    result = run_cli("render", "--set", "prompts=0: a\n0: b", cwd=tmp_path)
    assert result.returncode == 2
    assert "`prompts`, line 2" in result.stderr


def test_missing_model_says_why(tmp_path):
    result = run_cli(
        "render", *FAST, "--set", f"model_id={tmp_path / 'no-such-model'}", cwd=tmp_path
    )  # fmt: skip
    assert result.returncode == 2
    assert "`model_id`: there is no folder" in result.stderr
    assert "no-such-model" in result.stderr


def test_demo_draws_its_key_frames_with_the_shapes_model(tmp_path):
    result = run_cli("demo", "--output-dir", str(tmp_path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = Path(result.stdout.strip().splitlines()[-1])
    with Image.open(output) as gif:
        assert gif.n_frames == 25
        colours = []
        for index in (0, 12, 24):  # 0: a red circle, 12: a blue square, 24: a yellow star
            gif.seek(index)
            colours.append(dominant_colour(np.asarray(gif.convert("RGB"), np.float32) / 255))
    assert colours == ["red", "blue", "yellow"]


@pytest.mark.parametrize("flag", ["--help"])
def test_help(tmp_path, flag):
    result = run_cli(flag, cwd=tmp_path)
    assert result.returncode == 0
    assert "render" in result.stdout and "demo" in result.stdout


def test_keyframes_for_audio_and_video_and_frame_extraction(tmp_path):
    from helpers import write_clicks, write_video

    wav = write_clicks(tmp_path / "clicks.wav", [0.55, 1.3], duration=2.0)
    result = run_cli("keyframes", "--audio", str(wav), "--fps", "10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "0: timestamp: 0.00" and lines[-1].startswith("19: timestamp: 2.00")
    assert all(re.fullmatch(r"\d+: timestamp: \d+\.\d\d", line) for line in lines)

    video = write_video(tmp_path / "clip.mp4", num_frames=9, fps=6)
    result = run_cli("keyframes", "--video", str(video), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "frames: 9" in result.stdout and "fps: 6" in result.stdout
    assert "0: \n8: " in result.stdout

    target = tmp_path / "frame.png"
    result = run_cli("frame", str(video), "4", "-o", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == target
    with Image.open(target) as frame:
        assert frame.size == (64, 64)

    result = run_cli("keyframes", "--audio", str(tmp_path / "missing.wav"), cwd=tmp_path)
    assert result.returncode == 2 and "`audio_input`" in result.stderr


def test_media_settings_work_with_set(tmp_path):
    from helpers import write_video

    video = write_video(tmp_path / "clip.mp4", num_frames=4, fps=6)
    result = run_cli(
        "render", "--set", f"video_input={video}", "--set", "prompts=0: a corgi\n3: a lion",
        "--set", "translate_x=0: (2)", "--set", "strength=0.3", *FAST,
        "--output-dir", str(tmp_path / "out"), "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = json.loads((Path(result.stdout.strip()).parent / "settings.json").read_text())
    assert saved["video_input"] == str(video) and saved["translate_x"] == "0: (2)"


def test_inspire_prints_key_framed_prompts(tmp_path):
    result = run_cli(
        "inspire", "--topics", "a corgi, a lion", "--fps", "12", "--seed", "4", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["0", "12"]
    again = run_cli(
        "inspire", "--topics", "a corgi, a lion", "--fps", "12", "--seed", "4", cwd=tmp_path
    )
    assert again.stdout == result.stdout


def test_from_run_renders_a_saved_run_into_a_new_folder(tmp_path):
    first = run_cli(
        "render", "--set", "prompts=0: a corgi\n2: a lion", *FAST,
        "--output-dir", str(tmp_path / "out"), "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    run_dir = Path(first.stdout.strip()).parent
    again = run_cli(
        "render", "--from-run", str(run_dir), "--output-dir", str(tmp_path / "again"), "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    second = Path(again.stdout.strip())
    assert second.parent.parent == tmp_path / "again"
    for index in range(3):
        a = Image.open(run_dir / "frames" / f"{index:04d}.png")
        b = Image.open(second.parent / "frames" / f"{index:04d}.png")
        assert list(a.getdata()) == list(b.getdata())


def test_keyframes_on_beats_with_prompts_at_an_exact_rate(tmp_path, capsys):
    from helpers import write_clicks

    from giffusion_nb.cli import main

    wav = write_clicks(tmp_path / "pulse.wav", [0.25 + 0.5 * k for k in range(8)], 4.2)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red circle\n\na blue square\n")
    code = main(
        ["keyframes", "--audio", str(wav), "--fps", "30000/1001", "--on", "beats",
         "--prompts", str(prompts)]
    )  # fmt: skip
    assert code == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split(": ", 1)[1] for line in lines[:3]] == [
        "a red circle", "a blue square", "a red circle"
    ]  # fmt: skip
    assert "key frames on every beat at" in err and "repeated in order" in err
    times = [line for line in err.splitlines() if ": timestamp: " in line]
    assert [int(line.split(":")[0]) for line in times] == [
        int(line.split(":")[0]) for line in lines
    ]
    seconds = [float(line.rsplit(" ", 1)[1]) for line in times[1:-1]]
    assert np.allclose(np.diff(seconds), 0.5, atol=1 / 29.97)
    assert main(["keyframes", "--audio", str(wav), "--on", "3 bears"]) == 2
    assert "`--on`: expected onsets, beats" in capsys.readouterr().err
    assert main(["keyframes", "--audio", str(wav), "--fps", "1/0"]) == 2
    assert "`fps`" in capsys.readouterr().err
