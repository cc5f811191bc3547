"""Save uploaded files into the session's input folder: size-limited, with sanitised names."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.safe_paths import write_new_file

MAX_UPLOAD_MB = 500
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """``name`` reduced to letters, digits, '.', '_' and '-', without leading dots or folders."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).lstrip(".") or "upload"
    return cleaned[-100:]


def save_upload(
    upload: dict[str, Any], folder: Path, *, field: str, max_mb: float = MAX_UPLOAD_MB
) -> Path:
    """Write one ``FileUpload`` value entry (name, content) into ``folder`` as a new file
    (``photo.png``, else ``photo-2.png``...); returns its path. ``folder`` must be a real
    folder and nothing is written through a symbolic link."""
    content = upload["content"]
    size = len(content)
    if size == 0:
        raise SettingsError(field, f"the uploaded file {upload['name']!r} is empty")
    if size > max_mb * 1024 * 1024:
        raise SettingsError(
            field, f"the uploaded file is {size / 1024 / 1024:.0f} MB, more than {max_mb:g} MB"
        )
    return write_new_file(folder, _candidates(safe_name(upload["name"])), bytes(content), field)


def _candidates(name: str, tries: int = 10_000) -> Iterator[str]:
    """``name``, then ``stem-2.suffix``, ``stem-3.suffix``..."""
    path = Path(name)
    yield name
    for number in itertools.islice(itertools.count(2), tries):
        yield f"{path.stem}-{number}{path.suffix}"
