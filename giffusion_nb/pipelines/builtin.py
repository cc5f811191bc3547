"""Built-in offline models by name (`builtin:NAME`): the trained shapes model shipped in the
package, and the tiny random-weight pipelines and ControlNets, built once and cached."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
TINY_SD = "tiny-sd"
_TINY_SD_VERSION = "v1"
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
    """Every built-in model made from code: name -> (version, builder). A builder's version
    names its cache folder: bump it whenever the builder changes, so caches are rebuilt."""
    from giffusion_nb.pipelines import tiny_controlnets as controlnets
    from giffusion_nb.pipelines import tiny_families as families
    from giffusion_nb.pipelines.tiny_sd import build_tiny_sd

    return {
        TINY_SD: (_TINY_SD_VERSION, build_tiny_sd),
        "tiny-sd-v": ("v1", families.build_tiny_sd_v),
        "tiny-sdxl": ("v1", families.build_tiny_sdxl),
        "tiny-sd3": ("v1", families.build_tiny_sd3),
        "tiny-flux": ("v1", families.build_tiny_flux),
        "tiny-pixart-alpha": ("v1", families.build_tiny_pixart_alpha),
        "tiny-pixart-sigma": ("v1", families.build_tiny_pixart_sigma),
        "tiny-ip2p": ("v1", families.build_tiny_ip2p),
        "tiny-animatediff": ("v1", families.build_tiny_animatediff),
        "tiny-motion-adapter": ("v1", families.build_tiny_motion_adapter),
        "tiny-controlnet": ("v1", controlnets.build_tiny_controlnet),
        "tiny-controlnet-sdxl": ("v1", controlnets.build_tiny_controlnet_sdxl),
        "tiny-controlnet-sd3": ("v1", controlnets.build_tiny_controlnet_sd3),
        "tiny-controlnet-flux": ("v1", controlnets.build_tiny_controlnet_flux),
    }


def _is_saved(folder: Path) -> bool:
    """A finished ``save_pretrained`` folder: a pipeline's index or a single model's config."""
    return (folder / "model_index.json").exists() or (folder / "config.json").exists()
