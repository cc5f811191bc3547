"""giffusion_nb: key-framed prompts to GIFs and videos with Hugging Face diffusers, in a notebook.

>>> from giffusion_nb import RenderSession
>>> session = RenderSession(prompts="0: a red circle\\n12: a blue square", num_inference_steps=4)
>>> path = session.render()  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from giffusion_nb.errors import SettingsError

__all__ = ["RenderSession", "RenderedFrame", "Settings", "SettingsError"]
__version__ = "0.1.0"

# Imported on first use, so light modules (prompts, curves) load without torch and diffusers.
_LAZY = {
    "RenderSession": "giffusion_nb.render.session",
    "RenderedFrame": "giffusion_nb.render.session",
    "Settings": "giffusion_nb.settings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'giffusion_nb' has no attribute {name!r}")
