"""The device a render runs on, from the user's text (`cuda:1`), checked against this machine."""

from __future__ import annotations

import re

import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.load import default_device

FIELD = "device"
_DEVICE = re.compile(r"(?P<type>cpu|cuda|mps|xpu)(?::(?P<index>\d{1,4}))?")
_EXPECTED = "cpu, cuda, cuda:N (the N-th GPU, from 0), mps or xpu"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` this machine has; ``None`` or empty: the GPU if any.

    Text is read in lower case without surrounding spaces (`` CUDA `` is cuda). A device
    the machine lacks (``cuda`` without a CUDA GPU, ``cuda:3`` with two) is a
    ``SettingsError`` naming ``device``, as is text that names no device (``gpu0``).
    """
    if device is None or (isinstance(device, str) and not device.strip()):
        return default_device()
    if isinstance(device, torch.device):
        return _available(device)
    if not isinstance(device, str):
        raise SettingsError(FIELD, f"expected {_EXPECTED}, got {type(device).__name__}")
    match = _DEVICE.fullmatch(device.strip().lower())
    if match is None:
        raise SettingsError(FIELD, f"expected {_EXPECTED}, got {device[:40]!r}")
    index = match["index"]
    return _available(torch.device(match["type"], None if index is None else int(index)))


def _available(device: torch.device) -> torch.device:
    """``device`` when this machine has it; a ``SettingsError`` saying what it has otherwise."""
    kind = device.type
    if kind == "cpu":
        return device
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "" if torch.version.cuda else f" (PyTorch {torch.__version__} is CPU-only)"
            raise SettingsError(
                FIELD, f"{device} was asked for, but there is no CUDA GPU here{build}; use cpu"
            )
        _check_index(device, torch.cuda.device_count())
        return device
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SettingsError(FIELD, "mps was asked for, but this machine has no Apple GPU")
        return device
    if kind == "xpu":
        xpu = getattr(torch, "xpu", None)
        if xpu is None or not xpu.is_available():
            raise SettingsError(FIELD, f"{device} was asked for, but there is no Intel GPU here")
        _check_index(device, xpu.device_count())
        return device
    raise SettingsError(FIELD, f"expected {_EXPECTED}, got {str(device)!r}")


def _check_index(device: torch.device, count: int) -> None:
    if device.index is not None and device.index >= count:
        raise SettingsError(
            FIELD,
            f"{device} was asked for, but this machine has {count} such GPU"
            f"{'' if count == 1 else 's'} ({device.type}:0 to {device.type}:{count - 1})",
        )
