"""Peak resident memory of this process, measured the same way by every benchmark and test."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux's ``VmHWM`` starts afresh at ``exec``; ``ru_maxrss`` carries the parent's peak
    over a fork and exec, so a child started from a big test process would report the
    parent's size. ``ru_maxrss`` is the fallback where ``/proc`` is missing.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
