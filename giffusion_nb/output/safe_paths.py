"""Writes that no symbolic link can redirect: into real folders only, through no-follow opens.

A link planted where giffusion_nb writes (``outputs/inputs`` pointing elsewhere, or a
dangling ``outputs/inputs/photo.png``) is never followed: the folder is opened with
``O_NOFOLLOW``, files in it are created with ``O_EXCL | O_NOFOLLOW`` relative to that open
folder, and a replaced file is renamed over its name (a link there is replaced, not followed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from giffusion_nb.errors import SettingsError

_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@contextlib.contextmanager
def real_folder(folder: str | Path, field: str) -> Iterator[int]:
    """Create ``folder`` if needed and yield a descriptor of it; a ``SettingsError`` naming
    ``field`` when it is a symbolic link or not a folder (the folders above it may be links:
    the user chose them)."""
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)  # a link there, even a dangling one, is not followed
        descriptor = os.open(folder, _FOLDER_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
            raise SettingsError(
                field,
                f"{str(folder)!r} is a symbolic link or not a folder; giffusion_nb writes only "
                "into real folders there (remove the link)",
            ) from exc
        raise  # a full disk or a permission error is no mistake in the settings
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def check_real_folder(folder: str | Path, field: str) -> None:
    """``real_folder``'s checks alone: the folder exists afterwards and is no link."""
    with real_folder(folder, field):
        pass


def _create(folder: int, name: str) -> BinaryIO:
    """A new file ``name`` in the open folder, never an existing file or a link's target."""
    return os.fdopen(os.open(name, _NEW_FILE_FLAGS, 0o666, dir_fd=folder), "wb")


def write_new_file(folder: str | Path, names: Iterator[str], data: bytes, field: str) -> Path:
    """Write ``data`` as the first of ``names`` that does not exist yet in ``folder`` (a
    dangling link counts as existing); returns its path."""
    with real_folder(folder, field) as descriptor:
        for name in names:
            try:
                file = _create(descriptor, name)
            except FileExistsError:
                continue
            try:
                with file:
                    file.write(data)
            except BaseException:
                os.unlink(name, dir_fd=descriptor)
                raise
            return Path(folder) / name
    raise SettingsError(field, f"no free file name left in {str(folder)!r}")


def replace_file(path: str | Path, write: Callable[[BinaryIO], None], field: str) -> None:
    """Have ``write`` fill a new temporary file beside ``path``, then rename it to ``path``:
    ``path`` only ever holds a complete file, and a link at ``path`` is replaced, not followed."""
    path = Path(path)
    with real_folder(path.parent, field) as descriptor:
        while True:
            temp = f".{path.name[:200]}.{secrets.token_hex(4)}.tmp"
            try:
                file = _create(descriptor, temp)
                break
            except FileExistsError:
                continue
        try:
            with file:
                write(file)
            os.replace(temp, path.name, src_dir_fd=descriptor, dst_dir_fd=descriptor)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=descriptor)
            raise


def append_text(path: str | Path, text: str, field: str) -> None:
    """Append ``text`` (UTF-8) to the file ``path`` in a real folder, creating it if needed; a
    symbolic link at ``path`` is replaced by a new file, never appended through (the folder
    is the user's and may be reached through links)."""
    path = Path(path).parent.resolve() / Path(path).name
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    with real_folder(path.parent, field) as descriptor:
        try:
            handle = os.open(path.name, flags, 0o666, dir_fd=descriptor)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            os.unlink(path.name, dir_fd=descriptor)  # the link itself
            handle = os.open(path.name, flags | os.O_EXCL, 0o666, dir_fd=descriptor)
        with os.fdopen(handle, "ab") as file:
            file.write(text.encode("utf-8", "replace"))
