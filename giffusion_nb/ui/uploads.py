"""Save uploaded files into the session's input folder: size-limited, with sanitised names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from giffusion_nb.errors import SettingsError

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
    """Write one ``FileUpload`` value entry (name, content) into ``folder``; returns its path."""
    content = upload["content"]
    size = len(content)
    if size == 0:
        raise SettingsError(field, f"the uploaded file {upload['name']!r} is empty")
    if size > max_mb * 1024 * 1024:
        raise SettingsError(
            field, f"the uploaded file is {size / 1024 / 1024:.0f} MB, more than {max_mb:g} MB"
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(upload["name"])
    stem, suffix, number = target.stem, target.suffix, 1
    while target.exists():
        number += 1
        target = folder / f"{stem}-{number}{suffix}"
    target.write_bytes(bytes(content))
    return target
