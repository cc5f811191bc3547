"""Run folders: one per render under the output directory, with a safe, unique name; what a
resumed run must check (its frame settings, its complete frames) and still render."""

from __future__ import annotations

import errno
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from PIL import Image

from giffusion_nb.errors import SettingsError

_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 40) -> str:
    """``text`` as a lowercase file-name fragment of letters, digits and dashes."""
    return _UNSAFE.sub("-", text.lower()).strip("-")[:limit].rstrip("-") or "run"


def check_output_dir(output_dir: str | Path) -> Path:
    """The output folder, created if missing, as an absolute path; a ``SettingsError`` naming
    ``output_dir`` when it cannot hold runs (a file, read-only, a name too long...)."""
    root = Path(output_dir).expanduser()
    try:
        root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _output_dir_error(root, "it is a file, not a folder") from None
    except OSError as exc:
        raise _output_dir_error(root, _reason(exc)) from exc
    if not root.is_dir():
        raise _output_dir_error(root, "it is not a folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise _output_dir_error(root, "it is not writable (read-only, or owned by another user)")
    return root


def _output_dir_error(root: Path, reason: str) -> SettingsError:
    return SettingsError("output_dir", f"cannot write runs to {str(root)!r}: {reason}")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "a folder name is longer than the file system allows (255 bytes)"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    return exc.strerror or str(exc)


def create_run_dir(output_dir: str | Path, title: str, name: str | None = None) -> Path:
    """Create and return a new folder ``output_dir/<time>-<slug of title>`` (or ``name``).

    The folder always lies inside ``output_dir``; an explicit ``name`` may not contain path
    separators or dots that would leave it. An output folder that cannot hold runs is a
    ``SettingsError`` naming ``output_dir``.
    """
    root = check_output_dir(output_dir)
    if name is not None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name) or ".." in name:
            raise SettingsError(
                "run_name", f"expected letters, digits, '.', '_' or '-' only, got {name!r}"
            )
        base = name
    else:
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(title)}"
    for attempt in range(1000):
        candidate = root / (base if attempt == 0 else f"{base}-{attempt + 1}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _output_dir_error(root, _reason(exc)) from exc
        return candidate
    raise FileExistsError(f"no free run folder name for {base!r} in {root}")


def missing_frames(done: set[int], num_frames: int, *, in_order: bool) -> list[int]:
    """Frames a resumed run still has to render.

    Independent frames: every frame not done. Frames that each start from the previous one
    (2D motion): every frame from the first one missing, so the chain stays unbroken.
    """
    if not in_order:
        return [frame for frame in range(num_frames) if frame not in done]
    start = 0
    while start in done:
        start += 1
    return list(range(start, num_frames))


RUN_RECORD = "run.json"


def write_run_record(run_dir: Path, frame_settings: dict[str, Any]) -> None:
    """Record the settings that decide the run's frames, beside ``settings.json``: a resume
    compares them with the run's settings file, so frames of other settings never mix in."""
    record = {"frame_settings": frame_settings}
    (Path(run_dir) / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_run_record(run_dir: Path) -> dict[str, Any] | None:
    """The frame settings a run recorded (``None`` for runs made before the record existed)."""
    path = Path(run_dir) / RUN_RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))["frame_settings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError("resume", f"{path} is damaged ({exc}); start a new render") from exc


def complete_frames(run_dir: Path, num_frames: int) -> set[int]:
    """The frames 0..num_frames-1 saved whole under ``run_dir/frames``; a PNG that does not
    decode (a truncated or damaged file) is deleted, so it is rendered again."""
    complete = set()
    for path in sorted((Path(run_dir) / "frames").glob("*.png")):
        if not (path.stem.isdigit() and len(path.stem) >= 4 and int(path.stem) < num_frames):
            continue
        try:
            with Image.open(path) as image:
                image.load()
        except (OSError, ValueError, SyntaxError):
            path.unlink(missing_ok=True)
            continue
        complete.add(int(path.stem))
    return complete


def remove_temporary_files(run_dir: Path) -> int:
    """Delete the ``.NAME.*.tmp`` files an interrupted run left behind; returns how many."""
    removed = 0
    for folder in (Path(run_dir), Path(run_dir) / "frames"):
        for path in folder.glob(".*.tmp"):
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
