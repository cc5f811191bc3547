"""Every field's error kept current: one setting's error can change when another setting does."""

from __future__ import annotations

import asyncio

from giffusion_nb.settings import Settings
from giffusion_nb.ui.fields import SettingField
from giffusion_nb.validation import invalid_fields


class FieldChecks:
    """Checks every field again after any settings change (strength, motion and curve
    arguments depend on the prompts, the curve arguments on the interpolation type, the video
    input on the image input).

    Changes made together (one widget event, ``settings.update``, a loaded file) are coalesced
    into one check per event-loop tick; without a running loop (scripts, tests, worker
    threads) each change checks at once.
    """

    def __init__(self, settings: Settings, fields: dict[str, SettingField]) -> None:
        self.settings, self.fields = settings, fields
        self._handle: asyncio.Handle | None = None
        settings.observe(self._changed)

    def check_all(self) -> list[str]:
        """Check every setting now (``invalid_fields``), show each field's error or clear it;
        returns the names of the invalid fields in the panel's order."""
        self._cancel()
        errors = {error.field: str(error) for error in invalid_fields(self.settings)}
        return [name for name, field in self.fields.items() if field.show(errors.get(name, ""))]

    def close(self) -> None:
        """Stop following the settings."""
        self._cancel()
        self.settings.unobserve(self._changed)

    def _changed(self, _change: dict) -> None:
        if self._handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.check_all()
        else:
            self._handle = loop.call_soon(self.check_all)

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
