"""Run folders: one per render under the output directory, with a safe, unique name; which
frames a resumed run still needs."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

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
