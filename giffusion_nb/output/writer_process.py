"""The writer in a process of its own: the render's process only sends it frames, so saving,
quantizing and encoding never hold the render's interpreter lock or wait in its thread.

The process is a fresh interpreter (``python -m giffusion_nb.output.writer_process``): it
holds no model, no GPU context and no threads of the render's, and it never imports the
render's main script (as multiprocessing's spawn and fork server do, which would run a
script without an ``if __name__ == "__main__"`` guard again). It runs in a session of its
own, so a Ctrl-C in the terminal does not reach it (a stop writes the frames done; the
render's process decides that), and when the render's process dies or drops the writer, it
saves what it was sent and removes its unfinished output.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from giffusion_nb.output.frame_writer import FrameWriter
from giffusion_nb.output.interrupts import interrupts_deferred

# The writer's processes run at this nice value, so that the model (on the CPU) comes first.
WRITER_NICENESS = 10
# The folder that holds the giffusion_nb package, for the writer's interpreter to import it.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WriterProcess:
    """A ``FrameWriter`` in a process: ``send`` a frame, then ``close`` or ``abort``."""

    def __init__(self, config: dict[str, Any], workers: int, max_pending: int) -> None:
        paths = [_PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
            start_new_session=True,  # Ctrl-C in the terminal is the render's to handle
        )
        self._frames = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._events = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        # dropped unclosed, or at the interpreter's exit: the process sees its input end,
        # saves what it was sent and writes no output
        weakref.finalize(self, self._frames.close)
        self.error: BaseException | None = None
        self.frames_written = 0
        with contextlib.suppress(BrokenPipeError, OSError):
            self._frames.send((config, workers, max_pending))

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, index: int, pixels: np.ndarray) -> None:
        """Hand frame ``index`` over; waits only while the writer is ``max_pending`` behind."""
        self.poll()
        with interrupts_deferred() as pressed:  # a frame half sent would garble the stream
            try:
                self._frames.send(("frame", index, pixels))
            except (BrokenPipeError, EOFError, OSError):
                self._died()
        if pressed:
            raise KeyboardInterrupt

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
            elif self._process.poll() is not None and not self._events.poll():
                self._died()
                break
        self._process.wait()
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
                f"{self._process.poll()}); the frames saved so far are kept"
            )


def serve(frames: Any, events: Any, config: dict[str, Any], workers: int, max_pending: int) -> None:
    """The writer process: write the frames that come in until told to close or abort (or
    until the render's process is gone), then report the output."""
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
        except Exception:  # the render's process is gone (or sent something garbled)
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


def main() -> None:
    """The writer process's entry: its settings come first on standard input, which then
    carries the frames; standard output carries its reports (anything printed goes to
    standard error)."""
    frames = Connection(os.dup(0), writable=False)
    events = Connection(os.dup(1), readable=False)
    with open(os.devnull, "rb") as nothing:
        os.dup2(nothing.fileno(), 0)
    os.dup2(2, 1)
    try:
        config, workers, max_pending = frames.recv()
    except (EOFError, OSError):
        return
    serve(frames, events, config, workers, max_pending)


if __name__ == "__main__":
    main()
