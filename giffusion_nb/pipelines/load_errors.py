"""Why a model did not load, in words a dashboard user can act on (the raw error stays chained)."""

from __future__ import annotations

import re
from pathlib import Path

_EXPECTED_COMPONENTS = re.compile(r"expected \[?(.*?)\]?, but only \{?(.*?)\}? were passed")
_OFFLINE_HINTS = (
    "not fully cached",
    "not cached locally",
    "outgoing traffic has been disabled",
    "couldn't connect",
    "could not connect",
    "offline mode",
    "connection error",
    "name or service not known",
)


def explain_load_error(exc: BaseException, model_id: str, pipeline_class: str) -> str:
    """What went wrong loading ``model_id`` with ``pipeline_class``, and what to try instead."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        if not (folder / "model_index.json").is_file():
            return (
                f"the folder {model_id!r} is not a diffusers model: it has no model_index.json "
                "(pick the folder that save_pretrained wrote, or a Hub id)"
            )
    elif model_id.startswith(("/", "./", "../", "~")) or "\\" in model_id:
        return f"there is no folder {model_id!r} on the kernel's machine"
    missing = _missing_components(text, pipeline_class)
    if missing is not None:
        return (
            f"{model_id!r} is not a {pipeline_class} model: it lacks {missing}; choose "
            "DiffusionPipeline to load it with its own pipeline class"
        )
    if "is neither a valid local path nor a valid repo id" in lowered:
        return (
            f"{model_id!r} is neither a folder nor a Hub id (a Hub id looks like "
            "stable-diffusion-v1-5/stable-diffusion-v1-5)"
        )
    if any(hint in lowered for hint in _OFFLINE_HINTS):
        return (
            f"{model_id!r} is not on this machine and the Hugging Face Hub cannot be reached "
            "(offline): download it where there is a network, type a local folder, or use "
            "builtin:shapes-sd"
        )
    if "repository not found" in lowered or "404" in lowered:
        return f"there is no model {model_id!r} on the Hugging Face Hub (check the spelling)"
    if "gated" in lowered or "401" in lowered or "403" in lowered:
        return f"{model_id!r} needs a Hugging Face login or an accepted licence (hf auth login)"
    first_line = text.splitlines()[0] if text.strip() else type(exc).__name__
    return f"could not load {model_id!r} with {pipeline_class}: {first_line[:300]}"


def _missing_components(text: str, pipeline_class: str) -> str | None:
    """The required components ``pipeline_class`` expected but the checkpoint lacks, read from
    diffusers' message (``None`` when the error is of another kind)."""
    match = _EXPECTED_COMPONENTS.search(text)
    if match is None:
        return None
    expected = {name.strip(" '\"") for name in match.group(1).split(",")}
    passed = {name.strip(" '\"") for name in match.group(2).split(",")}
    missing = {name for name in expected - passed if name}
    required = missing - _optional_components(pipeline_class)
    return ", ".join(sorted(required or missing)) or "some of its components"


def _optional_components(pipeline_class: str) -> set[str]:
    import diffusers

    cls = getattr(diffusers, pipeline_class, None)
    return set(getattr(cls, "_optional_components", None) or ())
