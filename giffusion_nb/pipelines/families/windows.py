"""Windows of a video family: which frames one pipeline call denoises together, which it keeps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One call of a video pipeline: it denoises frames ``start..end-1`` together and keeps
    ``keep``; the frames around ``keep`` are context shared with the neighbouring windows."""

    start: int
    end: int
    keep: range
    condition: int | None = None  # the earlier frame whose picture this window starts from

    @property
    def frames(self) -> range:
        return range(self.start, self.end)


def video_windows(num_frames: int, size: int, overlap: int) -> list[Window]:
    """The windows of an animation, a function of its length and the two settings only.

    Every call denoises ``size`` frames (all of them for ``size`` 0, or when the animation is
    shorter); neighbouring calls share ``overlap`` frames, and each keeps the ``size - overlap``
    frames nearest its middle. The last window is shifted back to end at the last frame, so it
    denoises ``size`` frames too. A frame's window depends only on its index, so every frame is
    the same whichever frames are rendered, and in which order.
    """
    if num_frames < 1:
        raise ValueError(f"an animation has at least one frame, got {num_frames}")
    if size == 0 or num_frames <= size:
        return [Window(0, num_frames, range(num_frames))]
    if not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap < size, got overlap {overlap} and size {size}")
    kept, lead = size - overlap, overlap // 2
    windows = []
    for first in range(0, num_frames, kept):
        start = min(max(first - lead, 0), num_frames - size)
        windows.append(Window(start, start + size, range(first, min(first + kept, num_frames))))
    return windows


def conditioned_windows(num_frames: int, size: int) -> list[Window]:
    """Windows of ``size`` frames, each after the first starting at the last frame of the one
    before, whose rendered picture conditions it (``video_join`` condition); each keeps the
    frames after that one. The last is shifted back to end at the last frame."""
    if num_frames <= size:
        return [Window(0, num_frames, range(num_frames))]
    windows = [Window(0, size, range(size))]
    while windows[-1].end < num_frames:
        start = min(windows[-1].end - 1, num_frames - size)
        windows.append(Window(start, start + size, range(windows[-1].end, start + size), start))
    return windows
