"""What a local model folder may hold before anything in it is loaded: no code that loading
would run (custom pipelines and components, ``auto_map``/``trust_remote_code`` configs) and no
pickled weights (unpickling runs code); safetensors weights and JSON configs only."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path

from giffusion_nb.errors import SettingsError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_LIBRARIES = ("diffusers", "transformers")  # components of these are loaded from their classes
_CONFIGS = ("config.json", "tokenizer_config.json", "preprocessor_config.json")
_MAX_ENTRIES = 10_000  # a folder is read this far: a home folder named by mistake stays fast
CODE = "giffusion_nb never runs code that comes with a model"


def check_model_folder(location: str | Path, model_id: str, field: str = "model_id") -> None:
    """Refuse a local model folder (``model_id``'s ``location``) that holds code or pickled
    weights, naming ``field`` and the file; a Hub id or a missing folder passes (diffusers is
    asked for safetensors only and never to trust remote code). A pipeline's weights are
    those of its components' folders, a single model's (a ControlNet) its own folder's."""
    folder = Path(location)
    if not folder.is_dir():
        return
    index = _json(folder / "model_index.json")
    if not index and not (folder / "config.json").is_file():
        return  # no model: the loader says so
    class_name = index.get("_class_name")
    if isinstance(class_name, list):
        _refuse(field, model_id, f"its model_index.json names a custom pipeline {class_name}", CODE)
    folders = [folder]
    for component, entry in index.items():
        if component.startswith("_") or not isinstance(entry, list) or len(entry) != 2:
            continue
        library = entry[0]
        if library is not None and library not in _LIBRARIES and not _is_diffusers_module(library):
            _refuse(
                field,
                model_id,
                f"its component {component} comes from {library!r}, not diffusers or transformers",
                CODE,
            )
        if (folder / component).is_dir():
            folders.append(folder / component)
    for part in folders:
        _check_files(part, folder, model_id, field, weights=not index or part != folder)


def _check_files(part: Path, root: Path, model_id: str, field: str, *, weights: bool) -> None:
    names = _names(part)
    for name in sorted(names):
        where = (part / name).relative_to(root)
        if name.endswith(".py"):
            _refuse(field, model_id, f"it holds code ({where}), which loading would run", CODE)
        if name in _CONFIGS and "auto_map" in _json(part / name):
            _refuse(
                field,
                model_id,
                f"{where} maps classes to code of its own (auto_map: trust_remote_code)",
                CODE,
            )
    pickles = sorted(name for name in names if name.endswith(PICKLE_SUFFIXES))
    if weights and pickles and not any(name.endswith(".safetensors") for name in names):
        _refuse(
            field,
            model_id,
            f"its weights are pickled ({(part / pickles[0]).relative_to(root)}), and unpickling "
            "can run code; giffusion_nb loads safetensors weights only (convert them, or use "
            "the model's safetensors release)",
            "",
        )


def _names(folder: Path) -> set[str]:
    """The names of the files in ``folder`` (the first ``_MAX_ENTRIES``)."""
    names = set()
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries):
            if count == _MAX_ENTRIES:
                break
            if not entry.is_dir():
                names.add(entry.name)
    return names


def _json(path: Path) -> dict:
    """A config file's object (``{}`` when there is none, it is no file or no JSON object: the
    loader says what is wrong then); opened non-blocking, so a FIFO planted there never waits."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return {}
    with open(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return {}
        try:
            data = json.loads(file.read(2_000_000))
        except (OSError, ValueError, RecursionError):
            return {}
    return data if isinstance(data, dict) else {}


def _is_diffusers_module(name: object) -> bool:
    """``stable_diffusion`` and the like: a diffusers pipelines package (the safety checker's
    home), found without importing it."""
    if not isinstance(name, str) or not name.isidentifier():
        return False
    return importlib.util.find_spec(f"diffusers.pipelines.{name}") is not None


def _refuse(field: str, model_id: str, reason: str, rule: str) -> None:
    ending = f"; {rule}" if rule else ""
    raise SettingsError(field, f"{model_id!r} was not loaded: {reason}{ending}")
