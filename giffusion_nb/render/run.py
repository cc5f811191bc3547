"""One run's lifecycle, the same for local and Ray renders: the run folder and its settings,
which frames remain, the frame writer, Comet tracking, progress and the status it reports."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.output.formats import output_format
from giffusion_nb.output.interrupts import FINISHING, Finishing, interrupts_deferred
from giffusion_nb.output.pacing_record import read_pacing_record, write_pacing_record
from giffusion_nb.output.runs import (
    RunLock,
    complete_frames,
    create_run_dir,
    lock_run_dir,
    missing_frames,
    read_run_record,
    remove_temporary_files,
    write_record_atomically,
    write_run_record,
)
from giffusion_nb.output.tracking import CometTracker, finish_tracking, start_tracking
from giffusion_nb.output.writers import BackgroundWriter, existing_frames, frame_path
from giffusion_nb.render.cadence import continues_from
from giffusion_nb.render.renderer import RenderedFrame
from giffusion_nb.render.spec import FRAME_SETTINGS, RenderSpec
from giffusion_nb.settings import Settings


class RunStatus(Protocol):
    """What a run reports to as it goes (the session's traits)."""

    status: str
    message: str
    frames_done: int
    frames_total: int
    latest_frame: Any
    run_dir: str
    output_path: str
    tracking_url: str


class Run:
    """A render into a run folder: a new one, or a resumed one whose missing frames remain.

    ``start()`` opens it and returns the frames to render; ``receive()`` takes each rendered
    frame; ``frames()`` surrounds the frame loop (Ctrl-C stops, other errors still write the
    frames done); ``finish()`` writes the output and says what was done.
    """

    def __init__(
        self,
        spec: RenderSpec,
        status: RunStatus,
        stop: threading.Event,
        *,
        output_dir: Path,
        run_name: str | None = None,
        resume: Path | None = None,
        progress: bool = False,
        background: bool = True,
        pipeline_name: str = "",
    ) -> None:
        self.spec, self.status, self.stop = spec, status, stop
        self._output_dir, self._run_name, self._resume = output_dir, run_name, resume
        self._progress, self._background = progress, background
        self._pipeline_name = pipeline_name
        self.where = ""  # how the message says where it ran: " on 2 workers"
        self.run_dir: Path | None = None
        self._writer: BackgroundWriter | None = None
        self._tracker: CometTracker | None = None
        self._bar: tqdm | None = None
        self._finishing = Finishing()  # from a Ctrl-C until the output is written
        self._lock: RunLock | None = None

    # --- opening -------------------------------------------------------------------------

    def start(self) -> list[int]:
        """Open the run folder, its writer and tracker; return the frames still to render."""
        spec, s = self.spec, self.spec.settings
        total = spec.num_frames
        if self._resume is None:
            title = spec.plan.key_frames[0].prompt
            run_dir = create_run_dir(self._output_dir, title, self._run_name)
            self._lock = lock_run_dir(run_dir)
            write_record_atomically(
                run_dir / "settings.json", Settings.from_dict(s.to_dict()).to_dict()
            )
            write_run_record(run_dir, _frame_settings(s.to_dict()))
            done: set[int] = set()
        else:
            run_dir = Path(self._resume)
            check_resumable(run_dir, s.to_dict())
            self._lock = lock_run_dir(run_dir)  # before anything of another render is touched
            remove_temporary_files(run_dir)
            done = complete_frames(run_dir, total)
        self.run_dir = run_dir
        todo = missing_frames(done, total, in_order=spec.motion is not None)
        fmt = output_format(s.output_format)
        output = run_dir / fmt.file_name(run_dir.name)
        audio = Path(s.audio_input) if s.audio_input and fmt.carries_audio else None
        self._writer = BackgroundWriter(
            run_dir,
            total,
            output,
            s.output_format,
            s.fps,
            audio_path=audio,
            background=self._background,
            in_betweens=s.interpolate_frames,
            flow=s.optical_flow,
        )
        if s.comet:
            self._tracker = start_tracking(s, run_dir, self._pipeline_name)
        st = self.status
        st.run_dir, st.output_path = str(run_dir), ""
        st.frames_total, st.frames_done = total, total - len(todo)
        st.status, st.message = "rendering", f"Rendering {len(todo)} frames{self.where}…"
        self._bar = tqdm(
            total=total,
            initial=total - len(todo),
            unit="frame",
            disable=not self._progress,
            file=sys.stderr,
        )
        return todo

    def say_where(self, where: str, todo: int) -> None:
        """Where the calls run (`` on 2 workers``), said from now on."""
        self.where = where
        self.status.message = f"Rendering {todo} frames{where}…"

    def pace(self, probe: Callable[[], Pacing]) -> RenderSpec:
        """Even pacing, when asked for: the run's own record when it resumes, else ``probe()``
        now (recorded in ``pacing.json`` for later resumes); returns the re-timed spec."""
        if not self.spec.needs_pacing:
            return self.spec
        pacing, problem = None, ""
        if self._resume is not None:  # the run's record (a damaged one is probed again)
            pacing, problem = read_pacing_record(self.run_dir, self.spec.num_frames)
        if pacing is None:
            self.status.message = (
                problem or "Pacing: probing how the picture changes between key frames…"
            )
            with self._unlocked_on_error():
                pacing = probe()
                write_pacing_record(self.run_dir, pacing)
        self.spec = self.spec.with_pacing(pacing)
        todo = self.status.frames_total - self.status.frames_done
        self.status.message = f"Rendering {todo} frames{self.where} · {pacing.describe()}…"
        return self.spec

    def previous_frame(self, todo: list[int]) -> Any:
        """The frame before the first one to render (with a cadence: the last diffused one),
        for 2D motion to warp (or None)."""
        from giffusion_nb.media.image import load_image

        if self.spec.motion is None or not todo or todo[0] == 0:
            return None
        return load_image(frame_path(self.run_dir, continues_from(self.spec, todo[0])))

    def saved_frame(self, index: int) -> Any:
        """Frame ``index`` as saved in the run folder (``None``: not there, or damaged)."""
        from giffusion_nb.media.image import load_image

        if index not in existing_frames(self.run_dir):
            return None
        try:
            return load_image(frame_path(self.run_dir, index))
        except SettingsError:
            return None

    # --- frames --------------------------------------------------------------------------

    def receive(self, frame: RenderedFrame) -> None:
        """Save, encode and log one rendered frame, and report it."""
        self._writer.submit(frame.index, frame.image)
        if self._tracker is not None:
            self._tracker.log_frame(frame.index, frame.image)
        self.status.frames_done += 1
        self.status.latest_frame = frame.image
        self._bar.update()

    @contextlib.contextmanager
    def frames(self) -> Iterator[None]:
        """Around the frame loop: Ctrl-C stops the run (``finish`` then writes the frames
        done); any other error still writes an output of the frames done, then propagates."""
        try:
            yield
        except KeyboardInterrupt:
            self._finishing.begin()  # a second Ctrl-C says it is finishing instead
            self.stop.set()
        except BaseException as exc:
            with interrupts_deferred(FINISHING), contextlib.suppress(Exception):
                self._writer.close()  # the frames done stay playable; the render's error goes on
            self._lock.release()
            self.status.status, self.status.message = "error", str(exc)
            raise
        finally:
            self._bar.close()

    # --- closing -------------------------------------------------------------------------

    def finish(self, notes: list[str] | None = None) -> Path | None:
        """Write the output of the frames done (a Ctrl-C meanwhile waits for it), end the
        tracking and set the status and message (ending with the spec's ``notes`` and
        ``notes``); returns the output written, if any."""
        self._finishing.begin()
        try:
            with self._unlocked_on_error():
                output = self._writer.close()
        finally:
            self._finishing.end()
        self._lock.release()
        if self._finishing.pressed:
            self.stop.set()
        total = self.spec.num_frames
        done = len(existing_frames(self.run_dir) & set(range(total)))
        finished = done == total
        st = self.status
        st.output_path = str(output or "")
        st.status = "done" if finished else "stopped"
        st.message = (
            f"{'Rendered' if finished else 'Stopped after'} {done} of {total} frames"
            f"{self.where}" + (f": {output}" if output else "; no complete frame to write")
        )
        if self.spec.pacing is not None:
            st.message += f" · {self.spec.pacing.describe()}"
        st.message += "".join(f" · {note}" for note in (*self.spec.notes, *(notes or ())))
        if self._tracker is not None:
            st.message += f" · {finish_tracking(self._tracker, self.spec.settings, output)}"
            st.tracking_url = self._tracker.url
        return output

    @contextlib.contextmanager
    def _unlocked_on_error(self) -> Iterator[None]:
        """The run folder's lock is let go when the block fails (the render ends there)."""
        try:
            yield
        except BaseException:
            self._lock.release()
            raise


def _frame_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {name: settings[name] for name in FRAME_SETTINGS}


def check_resumable(run_dir: Path, settings: dict[str, Any]) -> None:
    """A run resumes only with the settings its frames were rendered with: a settings file
    changed since (by hand, or another version's) is refused, naming what differs."""
    if not (Path(run_dir) / "settings.json").is_file():
        raise SettingsError("resume", f"{run_dir} is not a run folder (no settings.json)")
    recorded = read_run_record(run_dir)
    if recorded is None:
        return  # a run from before the record: nothing to compare with
    changed = [
        name
        for name in FRAME_SETTINGS
        if name in recorded and _json(recorded[name]) != _json(settings[name])
    ]
    if changed:
        details = ", ".join(
            f"{name} ({recorded[name]!r} → {settings[name]!r})" for name in changed[:5]
        )
        raise SettingsError(
            "resume",
            f"the run's frames were rendered with other settings than its settings.json now "
            f"holds: {details}; restore them, or start a new render",
        )


def _json(value: Any) -> Any:
    """Lists and tuples alike, as JSON has them."""
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value
