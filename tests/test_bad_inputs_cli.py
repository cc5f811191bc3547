"""The bad-input table of the command line: files, folders, devices and numbers a user can get
wrong, each answered with exit 2 and an error naming the setting or option, fast and without
reading more than the limits allow."""

from __future__ import annotations

import json
import os
import time
import wave
from pathlib import Path

import pytest
import torch
from helpers import solid

from giffusion_nb.cli import main

FAST = ["--set", "model_id=builtin:tiny-sd", "--set", "num_inference_steps=2"]
SMALL = ["--set", "height=64", "--set", "width=64", *FAST]
MP3 = "audio_input=<text.mp3>"  # a text file named .mp3

# (arguments, field, words): "<name>" is a file of the fixture, "{tmp}" the test's folder.
TABLE = [
    # files read with a limit: never the whole stream
    (["render", "--prompts", "/dev/zero"], "--prompts", "larger than 1,000,000 bytes"),
    (["render", "/dev/zero"], "settings", "larger than 2,000,000 bytes"),
    (["render", "<huge.json>"], "settings", "larger than 2,000,000 bytes"),
    (["render", "--prompts", "<binary.txt>"], "--prompts", "not UTF-8 text"),
    (["render", "--prompts", "{tmp}"], "--prompts", "cannot read"),
    # integers of thousands of digits, as JSON or from --set
    (["render", "--set", "seed=" + "9" * 5000], "seed", "5000 digits; expected at most 30"),
    (["render", "--set", "batch_size=1" + "0" * 5000], "batch_size", "5001 digits"),
    (["render", "<long-seed.json>"], "seed", "5000 digits; expected at most 30"),
    (
        ["render", "--set", 'pipeline_kwargs={"eta": 1' + "0" * 5000 + "}"],
        "pipeline_kwargs",
        "'eta' is a",
    ),
    (["render", "--prompts", "<long-frame.txt>"], "prompts", "too large (at most 1000000)"),
    # settings files: keys twice, deep JSON, NaN, text that is no text, a folder
    (["render", "<dupes.json>"], "settings`, line 3", "the key 'seed' appears twice"),
    (["render", "<deep.json>"], "settings", "nest more than 32 levels deep"),
    (["render", "<nan.json>"], "scheduler_kwargs", "'beta_start' is nan; expected a finite"),
    (["render", "<surrogate.json>"], "prompts`, line 2", "U+D800, a lone UTF-16 surrogate"),
    (["render", "{tmp}"], "settings", "cannot read"),
    # --set values of the same kinds (an argument's byte that is not UTF-8 is a surrogate)
    (["render", "--set", "negative_prompt=dark \udcff"], "negative_prompt", "lone UTF-16"),
    (["render", "--set", "guidance_scale=NaN"], "guidance_scale", "expected a finite number"),
    (["render", "--set", "zoom=1.01", "--set", "noise_schedule=2"], "noise_schedule", "up to 1"),
    (["render", "--set", 'pipeline_kwargs={"eta": NaN}'], "pipeline_kwargs", "'eta' is nan"),
    (["render", "--set", 'scheduler_kwargs={"a": 1, "a": 2}'], "scheduler_kwargs", "twice"),
    (["render", "--set", "lora=/dev/zero", *SMALL], "lora", "is a character device"),
    # the output folder
    (["render", "--output-dir", "<text.mp4>", *FAST], "output_dir", "a file, not a folder"),
    (["render", "--output-dir", "<text.mp4>/runs", *FAST], "output_dir", "is a file, not"),
    (["render", "--output-dir", "{tmp}/" + "x" * 256, *FAST], "output_dir", "255 bytes"),
    (["demo", "--output-dir", "<text.mp4>"], "output_dir", "not a folder"),
    # devices
    (["render", "--device", "gpu0", *FAST], "device", "expected cpu, cuda, cuda:N"),
    (["render", "--device", "cuda", *FAST], "device", "no CUDA GPU here"),
    (["demo", "--device", "cuda:1"], "device", "no CUDA GPU here"),
    (["bench", "--device", "gpu0"], "device", "expected cpu, cuda"),
    (["eval-shapes", "--device", "tpu"], "device", "expected cpu, cuda"),
    # frame extraction
    (["frame", "<truncated.gif>", "2", "-o", "{tmp}/f.png"], "output", "truncated"),
    (["frame", "<truncated.gif>", "3", "-o", "{tmp}/f.png"], "frame", "has 3 frames"),
    (["frame", "<cut.gif>", "0", "-o", "{tmp}/f.png"], "output", "cannot read"),
    (["frame", "<text.mp4>", "0", "-o", "{tmp}/f.png"], "output", "cannot read"),
    (["frame", "<ok.gif>", "1", "-o", "{tmp}"], "--out", "is a folder"),
    (["frame", "<ok.gif>", "1", "-o", "<text.mp4>/f.png"], "--out", "not a folder"),
    (["frame", "<ok.gif>", "9", "-o", "{tmp}/f.png"], "frame", "has 4 frames, no frame 9"),
    # inputs named in the settings, checked before anything renders (MP4 muxes the audio)
    (["render", "--set", MP3, "--set", "output_format=mp4", *SMALL], "audio_input", "be read"),
    (["render", "--set", MP3, *SMALL], "audio_input", "could not be read"),  # GIF, linear
    (["keyframes", "--audio", "<rate1.wav>"], "audio_input", "sample rate of 1 Hz"),
    # the bench's own options, named as the user typed them
    (["bench", "--frames", "1", "--size", "60"], "--size", "multiple of 8"),
    (["bench", "--size", "8"], "--size", "between 16 and 4096"),
    (["bench", "--frames", "0"], "--frames", "positive numbers"),
    (["bench", "--runs", "0"], "--runs", "at least 1"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-bad")
    paths = {name: folder / name for name in ("text.mp4", "text.mp3", "huge.json", "binary.txt")}
    for name in ("text.mp4", "text.mp3"):
        paths[name].write_text("not media, just text\n" * 20)
    with open(paths["huge.json"], "wb") as huge:  # 2 GB passed by mistake; sparse, no disk
        huge.truncate(2 * 1024**3)
    paths["binary.txt"].write_bytes(b"0: a corgi\n\xff\xfe\n")
    paths["long-seed.json"] = folder / "long-seed.json"
    paths["long-seed.json"].write_text('{"seed": ' + "4" * 5000 + "}")
    hostile = {
        "dupes.json": '{\n  "seed": 1,\n  "seed": 2\n}\n',
        "deep.json": '{"pipeline_kwargs": {"a": ' + "[" * 900 + "]" * 900 + "}}",
        "nan.json": '{"scheduler_kwargs": {"beta_start": NaN}}',
        "surrogate.json": '{"prompts": "0: a fox\\n2: a \\ud800 lion"}',
    }
    for name, text in hostile.items():
        paths[name] = folder / name
        paths[name].write_text(text)
    paths["long-frame.txt"] = folder / "long-frame.txt"
    paths["long-frame.txt"].write_text(
        "0: a corgi\n" + "0" * 4999 + "12: a lion\n" + "5" * 5000 + ": x"
    )
    frames = [solid((40 * i, 80, 160)) for i in range(4)]
    paths["ok.gif"] = folder / "ok.gif"
    frames[0].save(paths["ok.gif"], save_all=True, append_images=frames[1:], duration=100)
    data = paths["ok.gif"].read_bytes()
    paths["truncated.gif"] = folder / "truncated.gif"
    paths["truncated.gif"].write_bytes(data[: len(data) * 2 // 3])
    paths["cut.gif"] = folder / "cut.gif"
    paths["cut.gif"].write_bytes(data[:20])
    paths["rate1.wav"] = folder / "rate1.wav"
    with wave.open(str(paths["rate1.wav"]), "wb") as slow:
        slow.setnchannels(1)
        slow.setsampwidth(1)
        slow.setframerate(1)
        slow.writeframes(bytes(3600))
    return paths


def _arguments(arguments: list[str], files: dict[str, Path], tmp: Path) -> list[str]:
    resolved = []
    for argument in arguments:
        for name, path in files.items():
            argument = argument.replace(f"<{name}>", str(path))
        resolved.append(argument.replace("{tmp}", str(tmp)))
    return resolved


@pytest.mark.parametrize(("arguments", "field", "words"), TABLE, ids=[t[0][0] for t in TABLE])
def test_cli_bad_input_exits_2_naming_the_field(
    arguments, field, words, files, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same on a GPU machine
    started = time.perf_counter()
    code = main(_arguments(arguments, files, tmp_path))
    seconds = time.perf_counter() - started
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.startswith(f"error: `{field}"), error
    assert words in error, error
    print(f"{arguments[0]} -> {field}: {seconds:.2f} s")  # figures, not a timed assertion


def test_output_dir_on_a_read_only_file_system(tmp_path, monkeypatch, capsys):
    import errno

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["render", "--output-dir", str(tmp_path / "runs"), *FAST]) == 2
    assert capsys.readouterr().err.startswith("error: `output_dir`: cannot write runs")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_dir_that_is_read_only(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    assert main(["render", "--output-dir", str(folder), *FAST]) == 2
    assert "not writable" in capsys.readouterr().err


def test_settings_file_over_the_limit_is_refused_unread(tmp_path, capsys):
    from giffusion_nb.limits import MAX_SETTINGS_BYTES

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"prompts": "0: a corgi"}) + " " * MAX_SETTINGS_BYTES)
    assert main(["render", str(path)]) == 2
    assert "larger than" in capsys.readouterr().err


def test_keyframes_of_a_29_minute_wav_stay_under_1_gb(tmp_path):
    """A fresh process, so the peak is this command's alone (the issue measured 4 GB)."""
    import subprocess
    import sys

    import numpy as np
    import soundfile

    path = tmp_path / "silent-29-min.wav"
    soundfile.write(path, np.zeros(29 * 60 * 22050, np.int16), 22050, subtype="PCM_16")
    measure = (
        "import sys, time; from giffusion_nb.cli import main; "
        "from giffusion_nb.bench.memory import peak_rss_mb; start = time.time(); "
        "code = main(sys.argv[1:]); "
        "print(code, peak_rss_mb(), time.time() - start, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, "keyframes", "--audio", str(path), "--fps", "10"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    code, peak_mb, seconds = result.stderr.split()[-3:]
    print(f"keyframes --audio on 29 minutes: peak {float(peak_mb):.0f} MB, {float(seconds):.1f} s")
    assert code == "0", result.stderr
    assert result.stdout.splitlines()[-1] == "17399: timestamp: 1740.00"
    assert float(peak_mb) < 1024


@pytest.mark.parametrize("option", ["settings", "--prompts"])
def test_a_fifo_named_as_a_file_is_refused_at_once(option, tmp_path, capsys):
    """Before: open() waited for a writer that never came, and the command hung."""
    import threading

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    arguments = (
        ["render", str(fifo)] if option == "settings" else ["render", "--prompts", str(fifo)]
    )
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(arguments)), daemon=True)
    thread.start()
    thread.join(timeout=120)
    if thread.is_alive():  # let the blocked open() go, so the test ends
        with open(fifo, "w"):
            pass
        thread.join(timeout=60)
        pytest.fail(f"{option} on a FIFO blocked")
    assert codes == [2]
    error = capsys.readouterr().err
    assert error.startswith(f"error: `{option}`") and "a named pipe (FIFO), not a file" in error


def test_an_error_log_is_never_written_through_a_planted_link(tmp_path, monkeypatch, capsys):
    from giffusion_nb.render.session import RenderSession

    run_dir = tmp_path / "outputs" / "run"
    run_dir.mkdir(parents=True)
    outside = tmp_path / "outside.log"
    (run_dir / "error.log").symlink_to(outside)  # dangling

    def fails(self, **kwargs):
        self.run_dir = str(run_dir)
        raise RuntimeError("the render broke")

    monkeypatch.setattr(RenderSession, "render", fails)
    assert main(["render", "--output-dir", str(tmp_path / "outputs"), *FAST]) == 1
    assert not outside.exists()
    assert not (run_dir / "error.log").is_symlink()
    assert "RuntimeError: the render broke" in (run_dir / "error.log").read_text()
    assert f"full traceback: {run_dir / 'error.log'}" in capsys.readouterr().err


SLOW_LOAD = """
import pathlib, sys, time
import diffusers
from giffusion_nb.cli import main

def slow(cls, *args, **kwargs):
    pathlib.Path(sys.argv[1]).write_text("loading")
    time.sleep(300)

diffusers.DiffusionPipeline.from_pretrained = classmethod(slow)
sys.exit(main(sys.argv[2:]))
"""


def test_sigterm_during_model_load_ends_the_command_cleanly(tmp_path):
    """SIGTERM (a job's time limit, ``kill``) stops a command as Ctrl-C does: no traceback,
    exit 143, no run folder half made; the next render starts afresh."""
    import signal
    import subprocess
    import sys

    loading = tmp_path / "loading"
    outputs = tmp_path / "outputs"
    command = [sys.executable, "-c", SLOW_LOAD, str(loading), "render", *SMALL]
    command += ["--output-dir", str(outputs), "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not loading.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert loading.exists(), process.stderr.read() if process.poll() is not None else ""
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143, error
    assert "Traceback" not in error and error.strip().endswith("interrupted"), error
    assert not outputs.exists() or list(outputs.iterdir()) == []
