"""Rendering on several Ray workers: chunks, equality with one process, lost workers, stop."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import pixels
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.output.writers import existing_frames, frame_path
from giffusion_nb.render.ray import render_with_ray, split_frames

PROMPTS = "0: a red circle\n23: a blue square"
TINY = {
    "model_id": "builtin:tiny-sd",
    "num_inference_steps": 2,
    "height": 64,
    "width": 64,
    "guidance_scale": 3.0,
    "prompts": PROMPTS,
}


@given(st.integers(0, 200), st.integers(1, 40))
def test_split_frames_is_contiguous_balanced_and_complete(num_frames, workers):
    chunks = split_frames(num_frames, workers)
    assert [frame for chunk in chunks for frame in chunk] == list(range(num_frames))
    assert len(chunks) == min(num_frames, workers)
    assert all(chunk == list(range(chunk[0], chunk[-1] + 1)) for chunk in chunks)
    sizes = [len(chunk) for chunk in chunks]
    assert not sizes or (min(sizes) >= 1 and max(sizes) - min(sizes) <= 1)


def test_split_frames_examples():
    assert split_frames(5, 2) == [[0, 1, 2], [3, 4]]
    assert split_frames(2, 4) == [[0], [1]]
    with pytest.raises(ValueError):
        split_frames(4, 0)


def test_without_ray_says_how_to_install_it(make_session, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SettingsError) as error:
        render_with_ray(make_session(prompts=PROMPTS), workers=2)
    assert error.value.field == "workers"
    assert "pip install 'giffusion-nb[ray]'" in error.value.message


def test_2d_motion_renders_on_one_worker(make_session):
    pytest.importorskip("ray")
    session = make_session(prompts="0: a red circle\n3: a blue square", translate_x="0: (2)")
    output = render_with_ray(session, workers=2)
    assert "renders on one worker" in session.message
    assert output is not None and output.exists()
    assert existing_frames(output.parent) == {0, 1, 2, 3}


def test_the_cli_renders_on_a_local_ray_instance_of_its_own(tmp_path):
    pytest.importorskip("ray")
    result = subprocess.run(
        [
            sys.executable, "-m", "giffusion_nb.cli", "render", "--ray", "--quiet",
            "--set", "workers=2", "--set", "prompts=0: a red circle\n7: a blue square",
            "--set", "num_inference_steps=2", "--set", "height=64", "--set", "width=64",
            "--output-dir", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "8 of 8 frames on 2 workers" in result.stderr
    with Image.open(result.stdout.strip().splitlines()[-1]) as gif:
        assert gif.n_frames == 8


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance with two CPUs, for the whole module."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=200 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tiny_pipe, tmp_path_factory):
    """The 24 frames rendered in this process."""
    session = RenderSession(
        output_dir=tmp_path_factory.mktemp("reference"), device="cpu", pipeline=tiny_pipe, **TINY
    )
    return [pixels(frame.image) for frame in session.render_frames()]


def assert_frames_match(run_dir, reference):
    assert existing_frames(run_dir) == set(range(len(reference)))
    for index, expected in enumerate(reference):
        with Image.open(frame_path(run_dir, index)) as image:
            assert np.abs(pixels(image) - expected).max() <= 2, f"frame {index} differs"


def test_renders_the_frames_of_one_process(ray_cluster, reference, make_session):
    session = make_session(**TINY, workers=2)
    output = session.render()  # the workers setting sends it to Ray
    assert output is not None and output.suffix == ".gif"
    assert (output.parent / "settings.json").exists()
    with Image.open(output) as gif:
        assert gif.n_frames == 24
    assert_frames_match(output.parent, reference)
    assert (session.status, session.frames_done, session.frames_total) == ("done", 24, 24)
    assert session.output_path == str(output)
    assert "24 of 24 frames on 2 workers" in session.message


def _renders_as_one_process(values: dict, tmp_path, count: int) -> None:
    """``values`` rendered here and on 2 Ray workers: the same ``count`` frames."""
    from giffusion_nb.pipelines.load import load_pipeline

    pipe = load_pipeline(values["model_id"], values["pipeline_class"], device="cpu")
    here = RenderSession(output_dir=tmp_path / "here", device="cpu", pipeline=pipe, **values)
    reference = [pixels(frame.image) for frame in here.render_frames()]
    session = RenderSession(output_dir=tmp_path / "ray", device="cpu", **values)
    output = render_with_ray(session, workers=2)
    assert_frames_match(output.parent, reference)
    assert f"{count} of {count} frames on 2 workers" in session.message


def test_animatediff_workers_render_whole_windows(ray_cluster, tmp_path):
    values = {
        **TINY,
        "model_id": "builtin:tiny-animatediff",
        "pipeline_class": "AnimateDiffPipeline",
        "prompts": "0: a red fox\n7: a blue whale",
        "video_window": 4,
        "video_overlap": 2,
    }
    _renders_as_one_process(values, tmp_path, 8)


def test_painted_key_frames_filled_by_a_video_model_on_two_workers(ray_cluster, tmp_path):
    """Key frames painted by the tiny SD, segments filled by the tiny first-last-frame Wan:
    each worker paints the key frames itself, and the frames are those of one process."""
    values = {
        **TINY,
        "model_id": "builtin:tiny-wan-flf",
        "pipeline_class": "WanImageToVideoPipeline",
        "key_frame_model": "builtin:tiny-sd",
        "prompts": "0: a red fox\n4: a blue whale\n8: a green cat",
    }
    _renders_as_one_process(values, tmp_path, 9)


def test_conditioned_video_windows_are_not_split_across_workers(ray_cluster, tmp_path):
    values = {
        **TINY,
        "model_id": "builtin:tiny-ltx",
        "pipeline_class": "LTXConditionPipeline",
        "prompts": "0: a red fox\n16: a blue whale",
        "video_window": 9,
        "video_join": "condition",
    }
    session = RenderSession(output_dir=tmp_path, device="cpu", **values)
    with pytest.raises(SettingsError, match="one after another") as info:
        render_with_ray(session, workers=2)
    assert info.value.field == "video_join"


def test_a_lost_worker_is_replaced(ray_cluster, reference, make_session):
    received, killed, last_actors = [], [], []

    def kill_the_second_worker_once(frame, actors):
        received.append(frame.index)
        last_actors[:] = actors
        if len(received) == 5:
            killed.append(actors[1])
            ray_cluster.kill(actors[1])

    session = make_session(**TINY)
    output = render_with_ray(session, workers=2, on_frame=kill_the_second_worker_once)
    assert killed and last_actors[1] is not killed[0]
    assert sorted(received) == list(range(24))
    with Image.open(output) as gif:
        assert gif.n_frames == 24
    assert_frames_match(output.parent, reference)
    assert session.status == "done"


def test_too_many_lost_workers_is_an_error_keeping_the_frames(ray_cluster, make_session):
    session = make_session(**TINY)

    def kill_after_three(frame, actors):
        if session.frames_done == 3:
            ray_cluster.kill(actors[0])

    with pytest.raises(RuntimeError, match="lost 1 Ray workers"):
        render_with_ray(session, workers=1, max_retries=0, on_frame=kill_after_three)
    assert session.status == "error"
    assert existing_frames(session.run_dir) >= {0, 1, 2}
    assert len(existing_frames(session.run_dir)) == session.frames_done


def test_stop_keeps_the_frames_done(ray_cluster, make_session):
    session = make_session(**TINY)

    def stop_after_six(frame, actors):
        if session.frames_done == 6:
            session.stop()

    output = render_with_ray(session, workers=1, on_frame=stop_after_six)
    assert (session.status, session.frames_done) == ("stopped", 6)
    assert existing_frames(session.run_dir) == set(range(6))
    with Image.open(output) as gif:
        assert gif.n_frames == 6
    assert session.message.startswith("Stopped after 6 of 24 frames on 1 workers")


def test_a_model_the_workers_cannot_load_is_a_settings_error(ray_cluster, make_session, tmp_path):
    session = make_session(**{**TINY, "model_id": str(tmp_path)})
    with pytest.raises(SettingsError) as error:
        render_with_ray(session, workers=1)
    assert error.value.field == "model_id"
    assert session.status == "error"


def test_more_workers_than_the_cluster_has_is_a_settings_error(ray_cluster, make_session):
    session = make_session(**TINY)
    with pytest.raises(SettingsError) as error:
        render_with_ray(session, workers=3)
    assert error.value.field == "workers"
    assert not session.run_dir


def test_bench_reports_frames_per_second_for_one_and_two_workers(ray_cluster):
    from giffusion_nb.bench.speed import BenchCase, fps_by_workers, report

    case = BenchCase(frames=6, device="cpu")
    fps = fps_by_workers(case, [1, 2], batch_size=2)
    assert set(fps) == {"1", "2"} and all(value > 0 for value in fps.values())
    assert "2 Ray workers" in report(case, {"fps_by_workers": fps})


def test_comet_tracks_a_ray_render(ray_cluster, make_session, tmp_path, monkeypatch):
    pytest.importorskip("comet_ml")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COMET_CONFIG", str(home / ".comet.config"))
    monkeypatch.setenv("COMET_MODE", "offline")
    monkeypatch.setenv("COMET_ERROR_TRACKING_ENABLE", "false")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    session = make_session(**{**TINY, "prompts": "0: a red circle\n5: a blue square"}, comet=True)
    output = render_with_ray(session, workers=2)
    (archive,) = list((output.parent / "comet").glob("*.zip"))
    assert f"Comet (offline): archive at {archive}" in session.message


def test_a_stopped_ray_render_resumes_to_the_frames_of_one_process(
    ray_cluster, reference, make_session
):
    session = make_session(**TINY)

    def stop_after_eight(frame, actors):
        if session.frames_done == 8:
            session.stop()

    output = render_with_ray(session, workers=2, on_frame=stop_after_eight)
    run_dir = output.parent
    done = existing_frames(run_dir)
    assert 8 <= len(done) < 24
    damaged = frame_path(run_dir, min(done))
    damaged.write_bytes(damaged.read_bytes()[:50])  # as a kill mid-write would leave it
    (run_dir / "frames" / ".0020.png.zz.tmp").write_bytes(b"x")
    resumed = make_session()
    output = render_with_ray(resumed, workers=2, resume=run_dir)
    assert resumed.status == "done" and "24 of 24 frames on 2 workers" in resumed.message
    assert_frames_match(run_dir, reference)
    assert not list((run_dir / "frames").glob(".*.tmp"))
    with Image.open(output) as gif:
        assert gif.n_frames == 24


def assert_close_records(a, b, where: str = "") -> None:
    """Two JSON records alike: the same keys and texts, numbers within 1e-5 of each other
    (``seconds``, how long the probe took, aside)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a.keys() - {"seconds"}:
            assert_close_records(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close_records(x, y, f"{where}[{index}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-9), where
    else:
        assert a == b, where


def test_a_local_and_a_ray_render_write_the_same_run_files(ray_cluster, make_session):
    """One lifecycle: the settings, the pacing record, the frames and the output are the same
    whether the calls run here or on Ray workers."""
    values = {**TINY, "prompts": "0: a red circle\n5: a blue square", "pacing": "even"}
    here = make_session(**values).render(run_name="here")
    there = render_with_ray(make_session(**values), workers=2, run_name="there")
    assert (here.parent / "settings.json").read_text() == (
        there.parent / "settings.json"
    ).read_text()
    paced_here, paced_there = (
        json.loads((run.parent / "pacing.json").read_text()) for run in (here, there)
    )
    assert_close_records(paced_here, paced_there)  # probed in another process: rounding differs
    assert existing_frames(here.parent) == existing_frames(there.parent) == set(range(6))
    for index in range(6):
        with (
            Image.open(frame_path(here.parent, index)) as a,
            Image.open(frame_path(there.parent, index)) as b,
        ):
            assert np.abs(pixels(a) - pixels(b)).max() <= 1, f"frame {index} differs"
    with Image.open(here) as a, Image.open(there) as b:
        assert a.n_frames == b.n_frames == 6


def test_colour_coherence_on_ray_workers_gives_the_frames_of_one_process(ray_cluster, make_session):
    """The worker without frame 0 renders the colour reference itself, alone, as one process
    does."""
    values = {**TINY, "prompts": "0: a red circle\n5: a blue square", "batch_size": 2}
    values["color_coherence"] = "first"
    here = make_session(**values).render(run_name="here")
    there = render_with_ray(make_session(**values), workers=2, run_name="there")
    plain = make_session(**{**values, "color_coherence": "none"}).render(run_name="plain")
    for index in range(6):
        with (
            Image.open(frame_path(here.parent, index)) as a,
            Image.open(frame_path(there.parent, index)) as b,
            Image.open(frame_path(plain.parent, index)) as c,
        ):
            assert np.abs(pixels(a) - pixels(b)).max() <= 1, f"frame {index} differs"
            if index:
                assert np.abs(pixels(a) - pixels(c)).mean() > 1.0  # matched to frame 0


def test_a_cadence_without_motion_diffuses_on_the_workers_and_flows_here(ray_cluster, make_session):
    """The workers render only the diffused frames; the in-betweens come out as in one
    process."""
    values = {**TINY, "prompts": "0: a red circle\n6: a blue square", "batch_size": 2}
    values.update(diffusion_cadence=3, cadence_warp="flow")
    here = make_session(**values).render(run_name="here")
    session = make_session(**values)
    there = render_with_ray(session, workers=2, run_name="there")
    assert "7 of 7 frames on 2 workers" in session.message
    for index in range(7):
        with (
            Image.open(frame_path(here.parent, index)) as a,
            Image.open(frame_path(there.parent, index)) as b,
        ):
            assert np.abs(pixels(a) - pixels(b)).max() <= 2, f"frame {index} differs"
