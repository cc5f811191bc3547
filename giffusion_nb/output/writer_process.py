"""The writer in a process of its own: the render's process only sends it frames, so saving,
quantizing and encoding never hold the render's interpreter lock or wait in its thread.

The process starts from multiprocessing's fork server (a clean process that imported only
this module: no model, no GPU context, no threads), ignores Ctrl-C (a stop writes the frames
done; the render's process decides that) and, when the render's process dies or drops the
writer, saves what it was sent and removes its unfinished output.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from giffusion_nb.output.frame_writer import FrameWriter

# The writer's processes run at this nice value, so that the model (on the CPU) comes first.
WRITER_NICENESS = 10
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


class WriterProcess:
    """A ``FrameWriter`` in a process: ``send`` a frame, then ``close`` or ``abort``."""

    def __init__(self, config: dict[str, Any], workers: int, max_pending: int) -> None:
        frames_out, self._frames = _CONTEXT.Pipe(duplex=False)
        self._events, events_in = _CONTEXT.Pipe(duplex=False)
        self._process = _CONTEXT.Process(
            target=serve,
            args=(frames_out, events_in, config, workers, max_pending),
            name="giffusion-writer",
            daemon=False,  # it starts helper processes; a daemon may not
        )
        self._process.start()
        frames_out.close()
        events_in.close()
        # dropped unclosed, or at the interpreter's exit (which joins the process): the
        # process sees its input end, saves what it was sent and writes no output
        weakref.finalize(self, self._frames.close)
        self.error: BaseException | None = None
        self.frames_written = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def send(self, index: int, pixels: np.ndarray) -> None:
        """Hand frame ``index`` over; waits only while the writer is ``max_pending`` behind."""
        self.poll()
        try:
            self._frames.send(("frame", index, pixels))
        except (BrokenPipeError, EOFError, OSError):
            self._died()

    def poll(self) -> None:
        """Take in what the process reported (an error) without waiting."""
        while not self._events.closed and self._events.poll():
            self._receive()

    def finish(self, abort: bool = False) -> Path | None:
        """Tell the process to finish the output (or to write none) and wait for it; returns
        the output's path."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self._frames.send(("abort" if abort else "close",))
        output = None
        while True:
            if self._events.poll(0.05):
                kind, *values = self._receive()
                if kind == "done":
                    output, self.frames_written, error = values
                    self.error = self.error or error
                    break
            elif not self._process.is_alive() and not self._events.poll():
                self._died()
                break
        self._process.join()
        self._frames.close()
        self._events.close()
        return output

    def _receive(self) -> tuple:
        try:
            message = self._events.recv()
        except (EOFError, OSError):
            self._died()
            return ("done", None, self.frames_written, self.error)
        if message[0] == "error":
            self.error = self.error or message[1]
        return message

    def _died(self) -> None:
        if self.error is None:
            self.error = RuntimeError(
                f"the frame writer process stopped unexpectedly (exit code "
                f"{self._process.exitcode}); the frames saved so far are kept"
            )


def serve(frames: Any, events: Any, config: dict[str, Any], workers: int, max_pending: int) -> None:
    """The writer process: write the frames that come in until told to close or abort (or
    until the render's process is gone), then report the output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + WRITER_NICENESS)
    writer = FrameWriter(**config, max_pending=max_pending, helpers=workers if workers > 1 else 0)
    inbox: queue.Queue = queue.Queue(maxsize=max_pending)
    threading.Thread(target=_receive_frames, args=(frames, inbox), daemon=True).start()
    reported = False
    while True:
        message = inbox.get()
        if message[0] != "frame":
            break
        writer.write(message[1], message[2])
        if writer.error is not None and not reported:
            reported = True
            _report(events, ("error", _picklable(writer.error)))
    if message[0] == "close":
        writer.finish()
    else:  # abort, or the render's process is gone
        writer.abort()
    _report(events, ("done", writer.output, writer.frames_written, _picklable(writer.error)))


def _receive_frames(frames: Any, inbox: queue.Queue) -> None:
    """Move what arrives into ``inbox`` (blocking while ``max_pending`` frames wait there)."""
    while True:
        try:
            message = frames.recv()
        except (EOFError, OSError):
            inbox.put(("gone",))
            return
        inbox.put(message)
        if message[0] != "frame":
            return


def _report(events: Any, message: tuple) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        events.send(message)


def _picklable(error: BaseException | None) -> BaseException | None:
    """``error`` itself when it survives pickling, else a RuntimeError that says what it was."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
