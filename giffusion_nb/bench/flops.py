"""How near the hardware a render runs: the floating-point work of one frame, counted by
PyTorch's FLOP counter, and the dense half-precision peak of the GPUs we name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

# Dense (no sparsity) fp16/bf16 tensor-core peaks from the vendors' data sheets, TFLOP/s.
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,  # SXM: "NVIDIA H100 80GB HBM3"
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,
    "T4": 65.0,
}


def frame_flops(run_one_frame: Callable[[], Any]) -> float:
    """The FLOPs of ``run_one_frame()`` (a call rendering one frame), as PyTorch's counter
    sees them: matrix products, convolutions and attention, counted by shape."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run_one_frame()
    return float(counter.get_total_flops())


def chip_peak(device: torch.device | str) -> tuple[str, float] | None:
    """The device's name and the peak of ``PEAK_TFLOPS`` it matches (longest name first), or
    ``None`` for a CPU or a GPU we have no figure for."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for chip in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if all(part in name for part in chip.split()):
            return name, PEAK_TFLOPS[chip]
    return None


def add_tflops(results: dict[str, Any], flops: float, device: torch.device | str) -> None:
    """Add each batch size's achieved TFLOP/s of the bare loop and the session (frames/s
    times the frame's FLOPs) to ``results``, and their share of the chip's peak if known."""
    peak = chip_peak(device)
    results["frame_tflop"] = flops / 1e12
    if peak is not None:
        results["chip"], results["chip_peak_tflops"] = peak
    for row in results["by_batch_size"].values():
        for loop in ("bare", "session"):
            achieved = row[f"{loop}_fps"] * flops / 1e12
            row[f"{loop}_tflops"] = achieved
            if peak is not None:
                row[f"{loop}_peak_share"] = achieved / peak[1]
