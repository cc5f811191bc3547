"""Resolve and load diffusers pipelines (Hub ids, folders, built-in models), with ControlNets."""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from collections.abc import Sequence

import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.builtin import builtin_model_path, is_builtin
from giffusion_nb.pipelines.families import family_of, known_pipelines
from giffusion_nb.pipelines.families.base import CONTROL, CONTROL_IMAGE, IMAGE
from giffusion_nb.pipelines.folder_checks import check_model_folder
from giffusion_nb.pipelines.load_errors import explain_load_error

AUTO_PIPELINES = (
    "AutoPipelineForText2Image",
    "AutoPipelineForImage2Image",
    "AutoPipelineForInpainting",
)
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def quiet_library_logs() -> None:
    """Only errors from diffusers' and transformers' loggers (the CLI's own lines stay readable)."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()


def default_device() -> torch.device:
    """The kernel's GPU when there is one, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    """fp16 on CUDA, fp32 elsewhere."""
    return torch.float16 if device.type == "cuda" else torch.float32


def diffusers_pipeline_names() -> list[str]:
    """Every class name the ``pipeline_class`` setting accepts."""
    import diffusers

    names = [name for name in dir(diffusers) if name.endswith("Pipeline")]
    return sorted({*filter(_is_pipeline_name, names), *AUTO_PIPELINES})


def _is_pipeline_name(name: str) -> bool:
    import diffusers

    try:
        candidate = getattr(diffusers, name)
    except (ImportError, AttributeError, RuntimeError):  # optional backends missing
        return False
    return inspect.isclass(candidate) and issubclass(candidate, diffusers.DiffusionPipeline)


def resolve_pipeline_class(name: str, *, field: str = "pipeline_class") -> type:
    """The diffusers pipeline class called ``name``; only ``DiffusionPipeline`` subclasses
    and the Auto pipelines are accepted."""
    import diffusers

    if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name):
        raise SettingsError(field, f"expected a diffusers pipeline class name, got {name!r}")
    if name in AUTO_PIPELINES:
        return getattr(diffusers, name)
    if not name.endswith("Pipeline") or not _is_pipeline_name(name):
        close = difflib.get_close_matches(name, diffusers_pipeline_names(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SettingsError(
            field, f"{name!r} is not a diffusers pipeline class (a DiffusionPipeline){hint}"
        )
    return getattr(diffusers, name)


def model_location(model_id: str, *, field: str = "model_id") -> str:
    """A Hub id or local folder for ``model_id``, building built-in models on first use."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise SettingsError(field, "expected a Hub model id, a local folder or builtin:shapes-sd")
    model_id = model_id.strip()
    return str(builtin_model_path(model_id)) if is_builtin(model_id) else model_id


def load_pipeline(
    model_id: str,
    pipeline_class: str = "DiffusionPipeline",
    controlnet_ids: Sequence[str] = (),
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    cpu_offload: bool = False,
    compile_unet: bool = False,
    motion_adapter_id: str = "",
):
    """Load ``model_id`` with ``pipeline_class`` onto ``device`` (default: the GPU if any).

    With ControlNet checkpoints the pipeline becomes its family's ControlNet sibling; several
    ControlNets work together. ``motion_adapter_id`` names a MotionAdapter for a class that
    takes one. On
    CUDA the denoiser runs channels-last in fp16 with PyTorch's SDPA attention (diffusers'
    default) and the VAE decodes one image at a time; ``cpu_offload`` keeps only the running
    model on the GPU, ``compile_unet`` wraps the UNet in ``torch.compile`` (the first batch
    compiles). A failed load raises ``SettingsError`` naming the field and the reason.
    """
    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or default_dtype(device)
    cls = resolve_pipeline_class(pipeline_class)
    location = model_location(model_id)
    check_model_folder(location, model_id)
    kwargs: dict = {"dtype": dtype, "use_safetensors": True}  # pickles can run code
    if _accepts(cls, "safety_checker") or cls.__name__ in ("DiffusionPipeline", *AUTO_PIPELINES):
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    if motion_adapter_id.strip():
        if not _accepts(cls, "motion_adapter"):
            import diffusers

            taking = [
                name
                for name in known_pipelines()
                if _accepts(getattr(diffusers, name), "motion_adapter")
            ]
            raise SettingsError(
                "motion_adapter_id",
                f"{cls.__name__} takes no motion adapter; choose a pipeline_class that does "
                f"({', '.join(taking)}), or clear motion_adapter_id",
            )
        kwargs["motion_adapter"] = _load_component(
            "MotionAdapter", motion_adapter_id.strip(), dtype, "motion_adapter_id"
        )
    family = known_pipelines().get(cls.__name__)
    ids = _ids(controlnet_ids)
    if ids and family is not None and _accepts(cls, "controlnet"):
        kwargs["controlnet"] = _load_controlnets(ids, family.controlnet_model, family.name, dtype)
        ids = []
    try:
        pipe = cls.from_pretrained(location, **kwargs)
    except Exception as exc:
        raise SettingsError("model_id", explain_load_error(exc, model_id, cls.__name__)) from exc
    if ids:
        pipe = _with_controlnet(pipe, ids, dtype)
    pipe.set_progress_bar_config(disable=True)
    return _place(pipe, device, cpu_offload=cpu_offload, compile_unet=compile_unet)


def _place(pipe, device: torch.device, *, cpu_offload: bool, compile_unet: bool):
    """Move the pipeline to ``device`` with the GPU defaults."""
    unet = getattr(pipe, "unet", None)
    if device.type == "cuda":
        if unet is not None:
            unet.to(memory_format=torch.channels_last)
        vae = getattr(pipe, "vae", None)
        if hasattr(vae, "enable_slicing"):
            vae.enable_slicing()
    if compile_unet and unet is not None:
        pipe.unet = torch.compile(unet)
    if cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload(device=device)
        return pipe
    if pipe.device == device:
        return pipe  # loaded there already (the CPU): .to() would only warn about dtypes
    return pipe.to(device)


def _ids(controlnet_ids: Sequence[str] | str) -> list[str]:
    if isinstance(controlnet_ids, str):
        controlnet_ids = controlnet_ids.split(",")
    return [cid.strip() for cid in controlnet_ids if cid and cid.strip()]


def _load_component(class_name: str, model_id: str, dtype: torch.dtype, field: str):
    """A model (a ControlNet, a MotionAdapter) by Hub id or folder; errors name ``field``."""
    import diffusers

    try:
        location = model_location(model_id, field=field)
        check_model_folder(location, model_id, field)
        return getattr(diffusers, class_name).from_pretrained(
            location, dtype=dtype, use_safetensors=True
        )
    except SettingsError as exc:
        raise SettingsError(field, exc.message) from exc
    except Exception as exc:
        raise SettingsError(
            field, f"could not load {class_name} {model_id!r}: {type(exc).__name__}: {exc}"
        ) from exc


def _load_controlnets(ids: list[str], class_name: str | None, family: str, dtype: torch.dtype):
    """The family's ControlNet models: one, or a list that the pipeline runs together."""
    if class_name is None:
        raise SettingsError("controlnet_ids", f"{family} pipelines take no ControlNet")
    models = [_load_component(class_name, cid, dtype, "controlnet_ids") for cid in ids]
    return models[0] if len(models) == 1 else models


def _with_controlnet(pipe, ids: list[str], dtype: torch.dtype):
    """``pipe``'s ControlNet sibling (image-to-image stays image-to-image)."""
    try:
        family = family_of(pipe)
    except SettingsError as exc:
        raise SettingsError("controlnet_ids", exc.message) from exc
    controlnet = _load_controlnets(ids, family.controlnet_model, family.name, dtype)
    mode = CONTROL_IMAGE if family.mode_of(pipe) == IMAGE else CONTROL
    try:
        return family.sibling(pipe, mode, controlnet=controlnet)
    except SettingsError as exc:
        raise SettingsError("controlnet_ids", exc.message) from exc
    except Exception as exc:
        raise SettingsError(
            "controlnet_ids",
            f"{type(pipe).__name__} has no ControlNet variant: {type(exc).__name__}: {exc}",
        ) from exc


def _accepts(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


LARGE_FRAME_PIXELS = 1024 * 1024


def fit_vae_to_frames(pipe, height: int, width: int, frames: int = 1) -> None:
    """Decode calls of more than a megapixel (``frames`` of a video window together) tile by
    tile, so the VAE's memory stays bounded (smaller calls are decoded whole either way; a
    video VAE's tiles are in time too)."""
    vae = getattr(pipe, "vae", None)
    if height * width * frames > LARGE_FRAME_PIXELS and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()


def call_parameters(pipe) -> frozenset[str]:
    """The named arguments of ``pipe.__call__`` (``**kwargs`` catch-alls excluded)."""
    return _call_parameters(type(pipe))


@functools.cache
def _call_parameters(pipeline_class: type) -> frozenset[str]:
    """``call_parameters`` once per pipeline class (reading a signature costs a fraction of a
    millisecond, and a render asks for it in every call)."""
    signature = inspect.signature(pipeline_class.__call__)
    return frozenset(
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
        and name != "self"
    )
