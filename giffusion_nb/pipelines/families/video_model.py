"""Video models (Wan, LTX-Video, and any pipeline whose call takes ``num_frames``, ``prompt``
and ``latents``): one call renders a window of frames, read from what the class accepts as the
generic family reads an image pipeline.

Their VAEs compress time: ``t`` pixel frames a latent frame (Wan 4, LTX 8), so a call takes
``t·k + 1`` frames. The key-frame noise travels along the latent-frame axis (latent frame
``j`` of a window takes the noise of its pixel frame ``t·j``), the prompt per window (the travel
at its middle frame). Key-frame images (``--image``) reach the call where the class takes
them: a first and last frame (Wan's ``image`` and ``last_image``: each segment between two
image key frames is one call, independent of the others), or ``conditions`` at a frame
index (LTX-Video's condition pipeline).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.base import IMAGE, TEXT, CallPrompts, FrameSize, TravelledNoise
from giffusion_nb.pipelines.families.generic import Generic
from giffusion_nb.pipelines.families.noise_entry import drawn_noise
from giffusion_nb.pipelines.families.windows import Window, conditioned_windows, video_windows

FIRST_LAST = "first and last frame"  # each call runs from one image key frame to the next
CONDITIONS = "conditions"  # images at frame indices within a call


class VideoModel(Generic):
    """The family of one video pipeline class no named family claims."""

    @property
    def init_mode(self) -> str:
        """From noise: a call's ``image`` or ``strength`` is for key-frame pictures."""
        return TEXT

    @property
    def takes_key_frame_images(self) -> bool:
        return self.image_kind is not None

    @property
    def image_kind(self) -> str | None:
        """How key-frame images reach a call: ``FIRST_LAST``, ``CONDITIONS`` or ``None``."""
        if self._accepts.call_takes("conditions"):
            return CONDITIONS
        if self._accepts.call_takes("image") and not self._accepts.call_takes("strength"):
            return FIRST_LAST
        return None

    # --- windows ----------------------------------------------------------------------------

    def windows(
        self,
        pipe: Any,
        num_frames: int,
        size: int | None,
        overlap: int,
        anchors: list[int],
        join: str,
    ) -> list[Window]:
        """Segments between image key frames for a first-and-last-frame class, else windows
        of ``size`` frames (the call's default ``num_frames`` when ``None``) sharing
        ``overlap`` (``join`` overlap) or each starting from the last frame of the one before
        (``join`` condition); every call's length is one the model takes."""
        step = temporal_step(pipe)
        if join == "condition" and self.image_kind != CONDITIONS:
            raise SettingsError(
                "video_join",
                f"{self.name} cannot start a window from the last frame of the one before (its "
                "call takes no `conditions`); choose overlap"
                + (", or key-frame images" if self.image_kind == FIRST_LAST else ""),
            )
        if self.image_kind == FIRST_LAST:
            return self._segments(num_frames, anchors, step)
        if size is None:
            size = int(self._accepts.call_default("num_frames") or num_frames)
        if num_frames <= size:
            if not _fits(num_frames, step):
                raise SettingsError(
                    "prompts",
                    f"the last key frame, {num_frames - 1}, makes {num_frames} frames; "
                    f"{self.name} renders {step}k+1 frames a call: end at frame "
                    f"{_nearest(num_frames, step, minus=1)}",
                )
            return [Window(0, num_frames, range(num_frames))]
        if not _fits(size, step):
            raise SettingsError(
                "video_window",
                f"{size} frames: {self.name} renders {step}k+1 frames a call; use "
                f"{_nearest(size, step)}",
            )
        if join == "condition":
            return conditioned_windows(num_frames, size)
        return video_windows(num_frames, size, overlap)

    def _segments(self, num_frames: int, anchors: list[int], step: int) -> list[Window]:
        if not anchors or anchors[0] != 0:
            raise SettingsError(
                "prompts",
                f"{self.name} starts each call from a picture: give key frame 0 an image "
                "(`0: a corgi --image corgi.png`)",
            )
        ends = anchors[1:] + ([num_frames - 1] if anchors[-1] < num_frames - 1 else [])
        windows, start = [], 0
        for end in ends:
            length = end - start + 1
            if not _fits(length, step):
                raise SettingsError(
                    "prompts",
                    f"key frame {end} makes a segment of {length} frames from key frame {start}; "
                    f"{self.name} renders {step}k+1 frames a call: put it at frame "
                    f"{_nearest(length, step, minus=1, offset=start)}",
                )
            last = end + 1 if end == num_frames - 1 else end  # a shared end: the next keeps it
            windows.append(Window(start, end + 1, range(start, last)))
            start = end
        return windows

    # --- the call ---------------------------------------------------------------------------

    def key_frame_arguments(
        self, pipe: Any, window: Window, images: Mapping[int, Image.Image]
    ) -> dict[str, Any]:
        """First and last frame: the images at the window's ends; conditions: each image in
        the window at its index within it."""
        if self.image_kind == FIRST_LAST:
            arguments: dict[str, Any] = {"image": images[window.start]}
            last = images.get(window.end - 1)
            if last is not None and self._accepts.call_takes("last_image"):
                arguments["last_image"] = last
            return arguments
        if self.image_kind == CONDITIONS:
            condition = _condition_class(pipe)
            conditions = [
                condition(image=image, frame_index=frame - window.start)
                for frame, image in sorted(images.items())
                if frame in window.frames
            ]
            return {"conditions": conditions} if conditions else {}
        return {}

    def prompt_arguments(self, prompts: CallPrompts) -> dict[str, Any]:
        """One video a call: the prompt of the window's middle frame."""
        middle = len(prompts.texts) // 2
        tensors = prompts.tensors
        one = CallPrompts(
            tensors=None
            if tensors is None
            else {name: value[middle : middle + 1] for name, value in tensors.items()},
            texts=prompts.texts[middle : middle + 1],
            negatives=None if prompts.negatives is None else prompts.negatives[middle : middle + 1],
            segments=prompts.segments[middle : middle + 1],
        )
        return super().prompt_arguments(one)

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """The window's noise drawn in ``prepare_latents``: latent frame ``j`` takes its pixel
        frame ``t·j``'s key-frame noise, on whichever axis the class keeps frames."""
        frames, step = noise.count, temporal_step(pipe)
        latent_frames = (frames - 1) // step + 1
        picks = [min(step * j, frames - 1) for j in range(latent_frames)]
        arguments["num_frames"] = frames

        def supply(shape: tuple[int, ...]) -> torch.Tensor | None:
            if len(shape) != 5 or shape[0] != 1 or latent_frames not in shape[1:3]:
                return None  # not the video's noise (a conditioning image's)
            axis = 2 if shape[2] == latent_frames else 1
            per_frame = shape[1:axis] + shape[axis + 1 :]
            picked = noise(per_frame)[picks]  # (latent frames, *per_frame)
            return picked.movedim(0, axis - 1).unsqueeze(0)

        return drawn_noise(pipe, supply)

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        return IMAGE if has_init else TEXT  # no video-to-video yet: an error names the input

    def images(self, result: Any) -> list[Image.Image]:
        (video,) = result.frames
        return list(video)


def temporal_step(pipe: Any) -> int:
    """Pixel frames a latent frame of the pipeline's VAE covers (Wan 4, LTX-Video 8)."""
    for name in ("vae_scale_factor_temporal", "vae_temporal_compression_ratio"):
        value = getattr(pipe, name, None)
        if value:
            return int(value)
    return 1


def _fits(length: int, step: int) -> bool:
    return length >= 1 and (length - 1) % step == 0


def _nearest(length: int, step: int, *, minus: int = 0, offset: int = 0) -> str:
    """The lengths nearest ``length`` that a model taking ``step``k+1 frames takes (shifted
    by ``offset - minus``: frame numbers), as ``"a or b"``."""
    below = max(1, (length - 1) // step * step + 1)
    above = below + step
    values = [value + offset - minus for value in (below, above) if value > 1 or minus == 0]
    return " or ".join(str(value) for value in dict.fromkeys(values))


def _condition_class(pipe: Any) -> type:
    """The condition dataclass of the pipeline's module (``LTXVideoCondition``)."""
    module = importlib.import_module(type(pipe).__module__)
    for name in dir(module):
        if name.endswith("Condition") and isinstance(getattr(module, name), type):
            return getattr(module, name)
    raise SettingsError(
        "pipeline_class",
        f"{type(pipe).__name__} takes conditions of a class giffusion_nb cannot find in its module",
    )
