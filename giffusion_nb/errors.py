"""The one error type for user mistakes: it names the field, where in it, and what was expected."""

from __future__ import annotations


class SettingsError(ValueError):
    """A user-supplied value is wrong.

    ``field`` is the setting's name (``prompts``, ``zoom``, ``scheduler_kwargs``...);
    ``line`` (1-based) or ``position`` (0-based character offset) say where in a
    multi-line or structured value the problem is.
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        line: int | None = None,
        position: int | None = None,
    ) -> None:
        self.field = field
        self.message = message
        self.line = line
        self.position = position
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            where = f", line {self.line}"
        elif self.position is not None:
            where = f", position {self.position}"
        return f"`{self.field}`{where}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing, Ray) working with keyword args
        return (_rebuild, (self.field, self.message, self.line, self.position))


def _rebuild(field: str, message: str, line: int | None, position: int | None) -> SettingsError:
    return SettingsError(field, message, line=line, position=position)
