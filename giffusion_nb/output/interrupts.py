"""Ctrl-C while the output is written: noted instead of raised, so a stop always leaves a
complete output of the frames done, and each press says that it is finishing."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

FINISHING = "Stopping: writing the output of the frames done first (one moment)…"


@contextlib.contextmanager
def interrupts_deferred(message: str | None = None) -> Iterator[list[bool]]:
    """While inside, a Ctrl-C in the main thread is appended to the yielded list instead of
    raised (and ``message``, when given, is printed on stderr); elsewhere it does nothing."""
    pressed: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def note(_signum: int, _frame: object) -> None:
        pressed.append(True)
        if message:
            print(message, file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


class Finishing:
    """From the first Ctrl-C of a render (``begin``) until its output is written (``end``),
    each further Ctrl-C prints ``FINISHING`` instead of raising."""

    def __init__(self) -> None:
        self._context: contextlib.AbstractContextManager | None = None
        self.pressed: list[bool] = []

    def begin(self) -> None:
        if self._context is None:
            self._context = interrupts_deferred(FINISHING)
            self.pressed = self._context.__enter__()

    def end(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)
