"""A render is a pure function of its settings: a frozen spec taken at the start, one render at
a time, resumes that never mix frames of other settings."""

from __future__ import annotations

import json
import os
import signal
import threading

import numpy as np
import pytest
from helpers import pixels
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.render.session import SessionBusy
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.settings import Settings

PROMPTS = "0: a red circle\n3: a blue square\n5: a green star"


def _frames(run_dir) -> list[np.ndarray]:
    return [pixels(Image.open(p)) for p in sorted((run_dir / "frames").glob("*.png"))]


def test_the_spec_is_read_only_and_parsed_once():
    settings = Settings(prompts=PROMPTS, strength="0: (0.3), 5: (0.6)", zoom="0: (1.01)")
    spec = RenderSpec.from_settings(settings)
    assert spec.num_frames == 6 and [k.frame for k in spec.plan.key_frames] == [0, 3, 5]
    assert spec.strengths[5] == pytest.approx(0.6) and spec.motion is not None
    settings.seed, settings.prompts = 99, "0: a corgi"
    assert spec.settings.seed == 42 and spec.num_frames == 6
    with pytest.raises(AttributeError):
        spec.settings.seed = 3
    with pytest.raises(TypeError):
        spec.settings.pipeline_kwargs["guidance_rescale"] = 0.5
    with pytest.raises(ValueError):
        spec.plan.t[0] = 0.5


def test_edits_during_a_render_apply_to_the_next_one(make_session):
    undisturbed = make_session(prompts=PROMPTS, batch_size=2, seed=5)
    reference = undisturbed.render()
    session = make_session(prompts=PROMPTS, batch_size=2, seed=5)
    original = session.settings.to_dict()

    def edit(change):
        if change["new"] == 2:  # after the first batch, as a person typing in the panel
            session.settings.update(
                guidance_scale=9.0,
                seed=6,
                num_inference_steps=3,
                prompts="0: a corgi\n9: a lion",
                zoom="0: (1.05)",
                negative_prompt="blurry",
            )

    session.observe(edit, "frames_done")
    output = session.render()
    assert session.status == "done" and session.frames_done == 6
    assert session.settings.seed == 6  # the edits stay, for the next render
    saved = json.loads((output.parent / "settings.json").read_text())
    assert saved == original
    assert saved == json.loads((reference.parent / "settings.json").read_text())
    for a, b in zip(_frames(reference.parent), _frames(output.parent), strict=True):
        assert np.array_equal(a, b)


def test_a_session_renders_one_thing_at_a_time(make_session):
    session = make_session(prompts="0: a red circle\n11: a blue square")
    started = threading.Event()
    session.observe(lambda change: started.set(), "frames_done")
    worker = threading.Thread(target=session.render)
    worker.start()
    assert started.wait(120)
    with pytest.raises(SessionBusy, match="already rendering"):
        session.render()
    with pytest.raises(SessionBusy):
        list(session.render_frames([0]))
    worker.join(240)
    assert session.status == "done" and session.frames_done == 12


def test_resume_refuses_a_changed_settings_file(make_session):
    session = make_session(prompts=PROMPTS, seed=7)
    session.observe(lambda change: session.stop() if change["new"] == 3 else None, "frames_done")
    run_dir = session.render().parent
    path = run_dir / "settings.json"
    data = json.loads(path.read_text())
    data.update(seed=8, height=128)
    path.write_text(json.dumps(data))
    with pytest.raises(SettingsError) as info:
        make_session().render(resume=run_dir)
    assert info.value.field == "resume"
    assert "seed (7 → 8)" in info.value.message and "height (64 → 128)" in info.value.message
    assert len(list((run_dir / "frames").glob("*.png"))) == 3  # nothing rendered, nothing lost


def test_resume_renders_damaged_frames_again_and_removes_temporary_files(make_session):
    output = make_session(prompts=PROMPTS, batch_size=3).render()
    run_dir = output.parent
    reference = _frames(run_dir)
    frame = run_dir / "frames" / "0004.png"
    frame.write_bytes(frame.read_bytes()[:100])  # truncated, as by a full disk
    (run_dir / f".{output.name}.x1y2.tmp").write_bytes(b"GIF89a")
    (run_dir / "frames" / ".0005.png.ab12.tmp").write_bytes(b"\x89PNG")
    output.unlink()
    resumed = make_session()
    assert resumed.render(resume=run_dir) == output
    assert resumed.frames_done == 6 and "Rendered 6 of 6 frames" in resumed.message
    for a, b in zip(reference, _frames(run_dir), strict=True):
        assert np.array_equal(a, b)
    assert not list(run_dir.glob(".*.tmp")) and not list((run_dir / "frames").glob(".*.tmp"))


def test_a_complete_run_without_its_output_gets_it_on_resume(make_session):
    output = make_session(prompts=PROMPTS).render()
    output.unlink()
    session = make_session()
    rendered = []
    session.observe(lambda change: rendered.append(change["new"]), "frames_done")
    assert session.render(resume=output.parent) == output
    assert rendered == [6] and session.status == "done"
    with Image.open(output) as gif:
        assert gif.n_frames == 6


def test_a_stop_after_the_last_frame_counts_every_frame(make_session):
    session = make_session(prompts=PROMPTS, batch_size=2)
    session.observe(lambda change: session.stop() if change["new"] == 6 else None, "frames_done")
    output = session.render()
    assert session.status == "done"
    assert session.message.startswith("Rendered 6 of 6 frames")
    with Image.open(output) as gif:
        assert gif.n_frames == 6


def test_ctrl_c_while_the_output_is_written_still_writes_it(make_session, monkeypatch):
    from giffusion_nb.output.writers import BackgroundWriter

    close = BackgroundWriter.close

    def interrupted_close(self):
        os.kill(os.getpid(), signal.SIGINT)  # twice, as an impatient person would
        os.kill(os.getpid(), signal.SIGINT)
        return close(self)

    monkeypatch.setattr(BackgroundWriter, "close", interrupted_close)
    handler = signal.getsignal(signal.SIGINT)
    session = make_session(prompts=PROMPTS)
    output = session.render()
    assert output is not None and output.is_file()
    with Image.open(output) as gif:
        assert gif.n_frames == 6
    assert session.status == "done"
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_prompts_edit_in_the_panel_parses_the_prompts_once(make_session, monkeypatch):
    from giffusion_nb.keyframes import prompts
    from giffusion_nb.ui.panel import Panel

    panel = Panel(make_session(prompts=PROMPTS, strength="0: (0.5)", zoom="0: (1.0)"))
    lines = []
    parse_line = prompts._parse_line
    monkeypatch.setattr(prompts, "_parse_line", lambda *a: lines.append(a) or parse_line(*a))
    panel.fields["prompts"].widget.value = "0: a red circle\n4: a blue square\n8: a yellow star"
    assert len(lines) == 3  # three lines, parsed once for every field and preview
