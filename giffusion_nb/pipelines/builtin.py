"""Built-in offline models by name (`builtin:NAME`): the trained shapes model shipped in the
package, and the tiny random-weight pipelines and ControlNets, built once and cached."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
# Modules of this package whose ``BUILDERS`` make built-in models from code, in listing order.
BUILDER_MODULES = (
    "tiny_sd",
    "tiny_families",
    "tiny_controlnets",
    "tiny_image_families",
    "tiny_t5_image_families",
    "tiny_video_families",
)
SHAPES_SD = "shapes-sd"
# Trained weights shipped inside the package (see giffusion_nb/shapes/train.py).
SHIPPED = {SHAPES_SD: Path(__file__).parent.parent / "shapes" / "shapes-sd"}


def is_builtin(model_id: str) -> bool:
    """True for ids like ``builtin:shapes-sd``."""
    return model_id.startswith(BUILTIN_PREFIX)


def cache_dir() -> Path:
    """Where built-in models are saved: ``$GIFFUSION_NB_CACHE`` or ``~/.cache/giffusion_nb``."""
    default = Path.home() / ".cache" / "giffusion_nb"
    return Path(os.environ.get("GIFFUSION_NB_CACHE", default))


def builtin_model_path(model_id: str) -> Path:
    """The local folder of a built-in model: the shipped one, or one built and saved on first use.

    The folder is a regular ``save_pretrained`` checkpoint, loaded with ``from_pretrained``
    like any model from the Hub.
    """
    from giffusion_nb.errors import SettingsError

    name = model_id.removeprefix(BUILTIN_PREFIX)
    builders = _builders()
    if name in SHIPPED:
        if not (SHIPPED[name] / "model_index.json").is_file():
            raise SettingsError(
                "model_id",
                f"{model_id} is missing from this installation (expected in {SHIPPED[name]}); "
                "reinstall giffusion-nb",
            )
        return SHIPPED[name]
    if name not in builders:
        raise SettingsError(
            "model_id",
            f"unknown built-in model {model_id!r}; built-in models are "
            + ", ".join(BUILTIN_PREFIX + known for known in [*SHIPPED, *builders]),
        )
    version, build = builders[name]
    target = cache_dir() / f"{name}-{version}"
    if _is_saved(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build().save_pretrained(staging)
        try:
            staging.rename(target)  # atomic: a concurrent builder either wins or finds it done
        except OSError:
            if not _is_saved(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _builders() -> dict[str, tuple[str, Callable]]:
    """Every built-in model made from code: name -> (version, builder), merged from the
    ``BUILDERS`` of ``BUILDER_MODULES``. A builder's version names its cache folder: bump it
    whenever the builder changes, so caches are rebuilt."""
    import importlib

    merged: dict[str, tuple[str, Callable]] = {}
    for module_name in BUILDER_MODULES:
        module = importlib.import_module(f"{__package__}.{module_name}")
        for name, entry in module.BUILDERS.items():
            if name in merged:
                raise RuntimeError(f"built-in model {name!r} is defined twice ({module_name})")
            merged[name] = entry
    return merged


def _is_saved(folder: Path) -> bool:
    """A finished ``save_pretrained`` folder: a pipeline's index or a single model's config."""
    return (folder / "model_index.json").exists() or (folder / "config.json").exists()
