"""The run folder's ``pacing.json``: even pacing's re-timed t and probe, written whole and never
through a link, read back on resume, and judged damaged (so probed again) when it cannot be
the record of this render."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from giffusion_nb.keyframes.pacing import Pacing
from giffusion_nb.output.runs import read_record, write_record_atomically

PACING_RECORD = "pacing.json"


def read_pacing_record(run_dir: Path, num_frames: int) -> tuple[Pacing | None, str]:
    """The run's recorded pacing, or ``None`` and why it cannot be used (``""`` when there is
    no record). A damaged record is no error: the probe is deterministic, so probing again
    gives the pacing the run's frames were rendered with."""
    path = Path(run_dir) / PACING_RECORD
    try:
        data = read_record(path)
        if data is None:
            return None, ""
        pacing = Pacing.from_json(data, num_frames)
        _check(pacing)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        return None, f"Pacing: {path} is damaged ({_short(exc)}); probing again…"
    return pacing, ""


def write_pacing_record(run_dir: Path, pacing: Pacing) -> None:
    """Record ``pacing`` in the run folder (atomically; a full disk is a named error and leaves
    no record, so a resume probes again)."""
    write_record_atomically(Path(run_dir) / PACING_RECORD, pacing.to_json(), indent=None)


def _check(pacing: Pacing) -> None:
    """Every t a frame can use: finite, from 0 to 1; every probe finite."""
    for name, values in (("t", pacing.t), ("scheduled_t", pacing.scheduled_t)):
        if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
            raise ValueError(f"{name} holds values outside 0 to 1")
    for segment, probe in pacing.probes.items():
        arrays = (probe.t, probe.change)
        if probe.frames < 1 or not all(np.isfinite(array).all() for array in arrays):
            raise ValueError(f"the probe of segment {segment} is not finite")
        if probe.change.shape != (max(len(probe.t) - 1, 0),):
            raise ValueError(f"the probe of segment {segment} does not fit its t values")


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 120 else text[:119] + "…"
