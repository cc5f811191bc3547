"""Undo, redo and Reset of the curve edits made with the mouse, and their buttons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from giffusion_nb.ui.buttons import button

if TYPE_CHECKING:
    from giffusion_nb.render.session import RenderSession

Change = tuple[str, Any, Any]  # (setting, value before, value after)
LIMIT = 100  # undo steps kept


class CurveHistory:
    """The mouse edits of some settings: *Undo* and *Redo* (``LIMIT`` steps) and *Reset* to
    each setting's value from before its first edit.

    The history writes the settings itself; a change made anywhere else (typing into the field,
    a loaded settings file) starts that setting afresh: its steps are dropped, and its *Reset*
    value becomes the new one.
    """

    def __init__(self, session: RenderSession, names: Iterable[str]) -> None:
        self.session = session
        self.names = tuple(names)
        self._undo: list[list[Change]] = []
        self._redo: list[list[Change]] = []
        self._original: dict[str, Any] = {}
        self._writing = False
        self.undo_button = button("Undo", "gnb-curve-undo", "Undo the last curve edit")
        self.redo_button = button("Redo", "gnb-curve-redo", "Redo the curve edit undone last")
        self.reset_button = button(
            "Reset", "gnb-curve-reset", "Put back the curves as they were before editing"
        )
        self.undo_button.on_click(lambda _: self.undo())
        self.redo_button.on_click(lambda _: self.redo())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = widgets.HBox([self.undo_button, self.redo_button, self.reset_button])
        self._observed = session.settings
        self._observed.observe(self._changed, names=list(self.names))
        session.observe(self._replaced, names="settings")
        self._update_buttons()

    @property
    def depth(self) -> tuple[int, int]:
        """How many steps can be undone and redone."""
        return len(self._undo), len(self._redo)

    def value(self, name: str) -> Any:
        """The setting's current value."""
        return getattr(self.session.settings, name)

    def write(self, name: str, value: Any) -> None:
        """Set a setting as part of an edit (not a change made elsewhere)."""
        if self.value(name) == value:
            return
        self._writing = True
        try:
            setattr(self.session.settings, name, value)
        finally:
            self._writing = False

    def record(self, changes: Iterable[Change]) -> None:
        """One undo step made of ``changes`` (already written); changes to nothing are left out."""
        step = [(name, before, after) for name, before, after in changes if before != after]
        if not step:
            return
        for name, before, _after in step:
            self._original.setdefault(name, before)
        self._undo = [*self._undo, step][-LIMIT:]
        self._redo = []
        self._update_buttons()

    def undo(self) -> None:
        """Put back the values from before the last step."""
        if self._undo:
            step = self._undo.pop()
            for name, before, _after in reversed(step):
                self.write(name, before)
            self._redo.append(step)
            self._update_buttons()

    def redo(self) -> None:
        """Make the step undone last again."""
        if self._redo:
            step = self._redo.pop()
            for name, _before, after in step:
                self.write(name, after)
            self._undo.append(step)
            self._update_buttons()

    def reset(self) -> None:
        """Every edited setting back to its value from before editing (itself one undo step)."""
        step = [(name, self.value(name), value) for name, value in self._original.items()]
        for name, _now, value in step:
            self.write(name, value)
        self.record(step)
        self._update_buttons()

    def close(self) -> None:
        """Stop following the settings."""
        self._observed.unobserve(self._changed, names=list(self.names))
        self.session.unobserve(self._replaced, names="settings")

    def _changed(self, change: dict) -> None:
        if not self._writing:
            self._forget(change["name"])

    def _forget(self, name: str) -> None:
        self._original.pop(name, None)
        self._undo = _without(self._undo, name)
        self._redo = _without(self._redo, name)
        self._update_buttons()

    def _replaced(self, change: dict) -> None:
        self._observed.unobserve(self._changed, names=list(self.names))
        self._observed = change["new"]
        self._observed.observe(self._changed, names=list(self.names))
        for name in self.names:
            self._forget(name)

    def _update_buttons(self) -> None:
        self.undo_button.disabled = not self._undo
        self.redo_button.disabled = not self._redo
        edited = any(self.value(name) != value for name, value in self._original.items())
        self.reset_button.disabled = not edited


def _without(steps: list[list[Change]], name: str) -> list[list[Change]]:
    kept = ([change for change in step if change[0] != name] for step in steps)
    return [step for step in kept if step]
