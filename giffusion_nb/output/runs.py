"""Run folders: one per render under the output directory, with a safe, unique name; what a
resumed run must check (its frame settings, its complete frames) and still render; the lock
that keeps two renders out of one folder; records written whole and never through a link."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.safe_paths import replace_file

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
    write_record_atomically(Path(run_dir) / RUN_RECORD, {"frame_settings": frame_settings})


def write_record_atomically(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """Write ``data`` as JSON at ``path`` so that ``path`` only ever holds a complete record:
    a temporary file beside it, flushed to the disk, renamed over it (a symbolic link at
    ``path`` is replaced, never written through). A full disk leaves the previous record (or
    none) and is a ``SettingsError`` naming ``output_dir`` that says what to do next."""
    text = (json.dumps(data, indent=indent, allow_nan=False) + "\n").encode("utf-8")
    path = Path(path).parent.resolve() / Path(path).name  # a run folder named through a link

    def write(file) -> None:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())

    try:
        replace_file(path, write, "output_dir")
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        folder = Path(path).parent
        then = (
            f"resume the run (giffusion-nb render --resume {folder})"
            if (folder / "settings.json").is_file()
            else "render again"
        )
        raise SettingsError(
            "output_dir",
            f"no space left on the device to write {Path(path).name} in {folder}; what was "
            f"saved so far is kept: free some space, then {then}",
        ) from exc


def read_run_record(run_dir: Path) -> dict[str, Any] | None:
    """The frame settings a run recorded (``None`` for runs made before the record existed)."""
    path = Path(run_dir) / RUN_RECORD
    try:
        record = read_record(path)
        return None if record is None else record["frame_settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SettingsError(
            "resume",
            f"{path} is damaged ({exc}); delete it to resume with the run's settings.json as "
            "it is, or start a new render",
        ) from exc


MAX_RECORD_BYTES = 64_000_000  # the pacing record of a million frames fits


def read_record(path: Path) -> Any:
    """The JSON of a run's record, ``None`` when there is none; a ``ValueError`` saying why
    when it cannot be used: a symbolic link (never followed), no regular file, too large, or
    not JSON (empty, cut short by a full disk, damaged)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError("it is a symbolic link, which giffusion_nb does not follow") from None
        raise ValueError(exc.strerror or str(exc)) from None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError("it is not a regular file")
        data = file.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"it is larger than {MAX_RECORD_BYTES:,} bytes")
    if not data.strip():
        raise ValueError("it is empty")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"it is not JSON text ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON: {exc.msg} at line {exc.lineno}") from None


def complete_frames(run_dir: Path, num_frames: int) -> set[int]:
    """The frames 0..num_frames-1 saved whole under ``run_dir/frames``; a PNG that does not
    decode (a truncated or damaged file) is deleted, so it is rendered again, and so is what
    only has a frame's name: a symbolic link (never followed) or a FIFO (never opened)."""
    complete = set()
    for path in sorted((Path(run_dir) / "frames").glob("*.png")):
        if not (path.stem.isdigit() and len(path.stem) >= 4 and int(path.stem) < num_frames):
            continue
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            continue  # a folder there: rendering the frame says so
        if not stat.S_ISREG(mode):
            path.unlink(missing_ok=True)
            continue
        try:
            with Image.open(path) as image:
                image.load()
        except (OSError, ValueError, SyntaxError):
            path.unlink(missing_ok=True)
            continue
        complete.add(int(path.stem))
    return complete


LOCK_NAME = ".render.lock"


class RunLock:
    """An exclusive lock on a run folder, held while one render writes into it (``flock`` on
    ``RUN_DIR/.render.lock``; the system drops it when the process ends, however it ends)."""

    def __init__(self, file: Any, run_dir: Path) -> None:
        self._file, self.run_dir = file, run_dir

    def release(self) -> None:
        """Let the next render of the folder in (closing the lock file releases the lock)."""
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def lock_run_dir(run_dir: Path) -> RunLock:
    """Lock ``run_dir`` for one render; a ``SettingsError`` naming ``resume`` when another
    render (this process or another) holds it, before anything in the folder is touched.
    A link planted at the lock file's name is removed, never followed."""
    path = Path(run_dir) / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            descriptor = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            path.unlink()  # the link itself
            descriptor = os.open(path, flags | os.O_EXCL, 0o644)
    except OSError as exc:  # a read-only or full file system
        raise SettingsError(
            "resume", f"cannot lock {run_dir} for a render: {_reason(exc)}"
        ) from exc
    file = os.fdopen(descriptor, "r+b")
    try:
        _flock(file)
    except BlockingIOError:
        holder = file.read(32).decode("ascii", "replace").strip() or "unknown"
        file.close()
        raise SettingsError(
            "resume",
            f"{run_dir} is being rendered right now by another render (process {holder}); "
            "wait until it has finished (or stop it), then resume the run",
        ) from None
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n".encode())
    file.flush()
    return RunLock(file, Path(run_dir))


def _flock(file: Any) -> None:
    """An exclusive lock on ``file`` without waiting (where the system has ``flock``)."""
    try:
        import fcntl
    except ImportError:  # not on this system: renders of one folder are not kept apart
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_temporary_files(run_dir: Path) -> int:
    """Delete the ``.NAME.*.tmp`` files an interrupted run left behind; returns how many."""
    removed = 0
    for folder in (Path(run_dir), Path(run_dir) / "frames"):
        for path in folder.glob(".*.tmp"):
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
