"""The files a run writes, under stress: records written whole and never through a link, a
damaged or emptied pacing record rebuilt on resume, a full disk named, and one render at a time
in a run folder (a lock), so concurrent resumes never mix or lose frames."""

from __future__ import annotations

import errno
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.output import runs
from giffusion_nb.output.pacing_record import PACING_RECORD, read_pacing_record
from giffusion_nb.output.runs import LOCK_NAME, lock_run_dir, write_record_atomically
from giffusion_nb.pipelines.load import load_pipeline

PACED = {"prompts": "0: a red fox\n4: a blue lion", "pacing": "even"}


def _frames(run_dir: Path) -> dict[str, np.ndarray]:
    return {
        path.name: np.asarray(Image.open(path), dtype=np.int16)
        for path in sorted((run_dir / "frames").glob("*.png"))
    }


def _same_frames(run_dir: Path, reference: dict[str, np.ndarray]) -> None:
    frames = _frames(run_dir)
    assert sorted(frames) == sorted(reference)
    for name, expected in reference.items():
        assert np.abs(frames[name] - expected).max() <= 1, name


@pytest.fixture(scope="module")
def paced_run(tiny_pipe, tmp_path_factory):
    """A finished evenly paced run (5 frames) and its frames."""
    session = RenderSession(
        output_dir=tmp_path_factory.mktemp("paced"),
        device="cpu",
        pipeline=tiny_pipe,
        model_id="builtin:tiny-sd",
        num_inference_steps=2,
        height=64,
        width=64,
        guidance_scale=3.0,
        **PACED,
    )
    run_dir = session.render().parent
    return run_dir, _frames(run_dir), json.loads((run_dir / PACING_RECORD).read_text())


def _copy_without_frames(run_dir: Path, tmp_path: Path, frames=(1, 2)) -> Path:
    copy = tmp_path / "outputs" / run_dir.name
    shutil.copytree(run_dir, copy)
    for index in frames:
        (copy / "frames" / f"{index:04d}.png").unlink()
    return copy


# --- records ----------------------------------------------------------------------------------


def test_a_record_replaces_a_link_at_its_name_and_never_writes_through_it(tmp_path):
    outside = tmp_path / "outside.json"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").symlink_to(outside)  # dangling: nothing there yet
    write_record_atomically(run_dir / "run.json", {"frame_settings": {}})
    assert not outside.exists()
    assert not (run_dir / "run.json").is_symlink()
    assert json.loads((run_dir / "run.json").read_text()) == {"frame_settings": {}}


def _fill_disk_after(monkeypatch, name: str, written: int = 10) -> None:
    """Writes of ``name`` through ``write_record_atomically`` fail as a full disk does, after
    ``written`` bytes reached the temporary file."""
    real = runs.replace_file

    def replace_on_a_full_disk(path, write, field):
        if Path(path).name != name:
            return real(path, write, field)

        def partial(file):
            class Full:
                def write(self, data):
                    file.write(data[:written])
                    raise OSError(errno.ENOSPC, "No space left on device")

                def __getattr__(self, attribute):
                    return getattr(file, attribute)

            write(Full())

        return real(path, partial, field)

    monkeypatch.setattr(runs, "replace_file", replace_on_a_full_disk)


def test_a_full_disk_leaves_the_previous_record_and_says_what_to_do(tmp_path, monkeypatch):
    record = tmp_path / "run.json"
    write_record_atomically(record, {"frame_settings": {"seed": 1}})
    _fill_disk_after(monkeypatch, "run.json")
    with pytest.raises(SettingsError, match=r"no space left on the device to write run\.json") as e:
        write_record_atomically(record, {"frame_settings": {"seed": 2}})
    assert e.value.field == "output_dir" and "then render again" in e.value.message
    assert json.loads(record.read_text()) == {"frame_settings": {"seed": 1}}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]  # no temporary file
    (tmp_path / "settings.json").write_text("{}")  # a run folder: it resumes
    with pytest.raises(SettingsError, match=f"render --resume {tmp_path}"):
        write_record_atomically(record, {"frame_settings": {"seed": 2}})


# --- the pacing record ------------------------------------------------------------------------


def test_a_disk_that_fills_while_pacing_is_recorded_is_named_and_the_run_resumes(
    make_session, paced_run, monkeypatch
):
    """Before: an empty pacing.json stayed behind, and resume refused the run for good."""
    _, reference, _ = paced_run
    session = make_session(**PACED)
    _fill_disk_after(monkeypatch, PACING_RECORD)
    with pytest.raises(SettingsError, match="no space left on the device") as info:
        session.render()
    assert info.value.field == "output_dir"
    assert PACING_RECORD in info.value.message and "--resume" in info.value.message
    run_dir = Path(session.run_dir)
    assert not (run_dir / PACING_RECORD).exists()
    assert not list(run_dir.glob(".*.tmp"))
    monkeypatch.undo()  # space freed
    make_session().render(resume=run_dir)
    _same_frames(run_dir, reference)


DAMAGE = {
    "empty": b"",
    "not-json": b'{"t": [0.0, 0.2',
    "nan-values": b'{"t": [0, NaN, 0.5, 0.7, 0], "scheduled_t": [0, 0.25, 0.5, 0.75, 0], '
    b'"probes": {}, "probe_frames": 3, "seconds": 1.0}',
    "t-out-of-range": b'{"t": [0, 7, 0.5, 0.7, 0], "scheduled_t": [0, 0.25, 0.5, 0.75, 0], '
    b'"probes": {}, "probe_frames": 3, "seconds": 1.0}',
    "wrong-types": b'{"t": "fast", "scheduled_t": null, "probes": [], "probe_frames": "x"}',
    "a-list": b"[1, 2, 3]",
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_pacing_record_is_probed_again_on_resume(
    damage, make_session, paced_run, tmp_path
):
    """Before: a raw ValueError (or a refusal) and a run that could not be finished."""
    run_dir, reference, record = paced_run
    copy = _copy_without_frames(run_dir, tmp_path)
    (copy / PACING_RECORD).write_bytes(DAMAGE[damage])
    pacing, problem = read_pacing_record(copy, 5)
    assert pacing is None and PACING_RECORD in problem and "probing again" in problem
    session = make_session()
    session.render(resume=copy)
    _same_frames(copy, reference)
    rebuilt = json.loads((copy / PACING_RECORD).read_text())
    assert rebuilt["t"] == pytest.approx(record["t"])


def test_a_link_planted_at_the_pacing_record_is_never_followed(make_session, paced_run, tmp_path):
    """Before: the record was written through the link, outside the run folder."""
    run_dir, reference, _ = paced_run
    copy = _copy_without_frames(run_dir, tmp_path)
    (copy / PACING_RECORD).unlink()
    outside = tmp_path / "outside" / "written-here.json"
    outside.parent.mkdir()
    (copy / PACING_RECORD).symlink_to(outside)  # dangling
    make_session().render(resume=copy)
    assert not outside.exists() and list(outside.parent.iterdir()) == []
    assert not (copy / PACING_RECORD).is_symlink()
    _same_frames(copy, reference)


def test_a_link_to_a_good_record_elsewhere_is_not_read(paced_run, tmp_path):
    _, _, record = paced_run
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(record))
    run = tmp_path / "run"
    run.mkdir()
    (run / PACING_RECORD).symlink_to(elsewhere)
    pacing, problem = read_pacing_record(run, 5)
    assert pacing is None and "symbolic link" in problem


# --- one render at a time in a run folder -----------------------------------------------------


@pytest.fixture
def stopped_run(make_session):
    """A run of 4 frames that has only its first frame (as a stop leaves it)."""
    run_dir = make_session(prompts="0: a red fox\n3: a blue lion").render().parent
    for path in (run_dir / "frames").glob("*.png"):
        if path.name != "0000.png":
            path.unlink()
    (run_dir / f"{run_dir.name}.gif").unlink()
    return run_dir


def test_a_resume_while_another_render_holds_the_folder_is_refused_by_name(
    make_session, stopped_run
):
    run_dir = stopped_run
    theirs = run_dir / f".{run_dir.name}.gif.0a1b2c3d.tmp"  # the other render's unfinished GIF
    theirs.write_bytes(b"GIF89a, half written")
    other = lock_run_dir(run_dir)
    with pytest.raises(SettingsError, match="is being rendered right now") as info:
        make_session().render(resume=run_dir)
    assert info.value.field == "resume" and str(run_dir) in info.value.message
    assert theirs.read_bytes() == b"GIF89a, half written"  # never deleted
    assert sorted(p.name for p in (run_dir / "frames").iterdir()) == ["0000.png"]
    other.release()
    output = make_session().render(resume=run_dir)
    assert output.is_file() and len(list((run_dir / "frames").glob("*.png"))) == 4
    assert not theirs.exists()  # a leftover once nobody renders: removed


def test_a_link_planted_at_the_lock_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_NAME).symlink_to(outside)
    with lock_run_dir(run_dir):
        assert not (run_dir / LOCK_NAME).is_symlink()
    assert not outside.exists()


def test_three_resumes_at_once_one_renders_none_crashes(make_session, stopped_run, monkeypatch):
    """Before: a resume deleted the running render's temporary GIF and one of them crashed
    with FileNotFoundError. Now the first to lock the folder renders; the others are refused
    by name while it runs (its first frame waits until they have tried)."""
    from giffusion_nb.render import run as run_module

    run_dir = stopped_run
    tried = threading.Semaphore(0)
    real_lock, real_receive = run_module.lock_run_dir, run_module.Run.receive

    def counted_lock(folder):
        try:
            return real_lock(folder)
        except SettingsError:
            tried.release()
            raise

    def receive_once_all_tried(self, frame):
        if not getattr(self, "_waited", False):
            self._waited = True
            for _ in range(2):
                assert tried.acquire(timeout=300), "the other resumes never tried"
        real_receive(self, frame)

    monkeypatch.setattr(run_module, "lock_run_dir", counted_lock)
    monkeypatch.setattr(run_module.Run, "receive", receive_once_all_tried)
    outcomes: list[object] = []
    start = threading.Barrier(3)

    def resume(pipe):
        # each its own pipeline, the run's model: none shares or reloads one
        session = RenderSession(device="cpu", pipeline=pipe, model_id="builtin:tiny-sd")
        start.wait()
        try:
            outcomes.append(session.render(resume=run_dir))
        except BaseException as exc:  # the test inspects it
            outcomes.append(exc)

    pipes = [load_pipeline("builtin:tiny-sd", device="cpu") for _ in range(3)]
    threads = [threading.Thread(target=resume, args=(pipe,)) for pipe in pipes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    outputs = [outcome for outcome in outcomes if isinstance(outcome, Path)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, SettingsError)]
    assert len(outputs) == 1 and len(refused) == 2, outcomes
    assert all(error.field == "resume" for error in refused)
    assert outputs[0].is_file() and len(list((run_dir / "frames").glob("*.png"))) == 4
    monkeypatch.undo()
    assert make_session().render(resume=run_dir) == outputs[0]  # nothing left: output again


def test_links_and_fifos_planted_as_frames_are_rendered_again_never_followed(
    make_session, stopped_run, tmp_path
):
    import os

    run_dir = stopped_run
    outside = tmp_path / "outside.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(outside)
    before = outside.read_bytes()
    (run_dir / "frames" / "0001.png").symlink_to(outside)
    os.mkfifo(run_dir / "frames" / "0002.png")
    outputs: list[object] = []
    thread = threading.Thread(
        target=lambda: outputs.append(make_session().render(resume=run_dir)), daemon=True
    )
    thread.start()
    thread.join(timeout=600)
    if thread.is_alive():
        with open(run_dir / "frames" / "0002.png", "wb"):  # let a blocked open() go
            pass
        pytest.fail("a FIFO planted as a frame was opened")
    assert outputs and isinstance(outputs[0], Path) and outputs[0].is_file()
    assert outside.read_bytes() == before
    frames = sorted((run_dir / "frames").iterdir())
    assert [path.name for path in frames] == ["0000.png", "0001.png", "0002.png", "0003.png"]
    assert all(path.is_file() and not path.is_symlink() for path in frames)
    red = np.array([255, 0, 0])
    assert not (np.asarray(Image.open(frames[1])) == red).all()  # rendered, not the link's


def test_a_run_folder_named_through_a_link_resumes(make_session, paced_run, tmp_path):
    """Links the user names are theirs: only links planted inside a run folder are refused."""
    run_dir, reference, _ = paced_run
    copy = _copy_without_frames(run_dir, tmp_path)
    (copy / PACING_RECORD).write_text("")  # rewritten through the folder's link
    link = tmp_path / "my-run"
    link.symlink_to(copy)
    make_session().render(resume=link)
    _same_frames(copy, reference)
    assert json.loads((copy / PACING_RECORD).read_text())["t"]
