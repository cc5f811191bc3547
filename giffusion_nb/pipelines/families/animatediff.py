"""AnimateDiff: Stable Diffusion with a motion adapter; one call renders a window of frames."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.pipelines.families.base import CONTROL, IMAGE, TEXT, Family, _matching
from giffusion_nb.pipelines.families.windows import Window, video_windows

MOTION_CONTEXT = 16  # frames the motion modules attend over at once: what AnimateDiff trains on
CONTEXT_STRIDE = 4  # FreeNoise's step between the context windows of a longer call


class AnimateDiff(Family):
    """A UNetMotionModel denoises a video ``(1, C, F, H/8, W/8)``: one call renders one window
    of frames (``video_window``, ``video_overlap``), decoded into ``.frames``.

    Each frame's noise is its own travelled key-frame noise, stacked on the frame axis; each
    frame's prompt embeddings are its own travelled ones. The pipeline cannot take per-frame
    embeddings as ``prompt_embeds`` (it reads them as a batch of videos), so they enter through
    diffusers' FreeNoise: for the render FreeNoise is on, its ``prompt_interpolation_callback``
    hands each call its frames' embeddings, and a call longer than the motion context is
    denoised in FreeNoise's sliding context windows. Video-to-video noises the encoded input
    frames with the key-frame noise; the ControlNet pipeline takes the window's frames as
    ``conditioning_frames``.
    """

    name = "AnimateDiff"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "AnimateDiffPipeline",
        IMAGE: "AnimateDiffVideoToVideoPipeline",
        CONTROL: "AnimateDiffControlNetPipeline",
    }
    control_argument = "conditioning_frames"

    def windows(self, num_frames: int, size: int, overlap: int) -> list[Window]:
        return video_windows(num_frames, size, overlap)

    @contextmanager
    def rendering(self, pipes: Sequence[Any]) -> Iterator[None]:
        """FreeNoise, switched on by the first call, is switched off after the render, which
        gives the shared UNet its own transformer blocks back."""
        try:
            yield
        finally:
            for pipe in pipes:
                if pipe.free_noise_enabled:
                    pipe.disable_free_noise()

    @contextmanager
    def frame_prompts(
        self,
        pipe: Any,
        frames: int,
        prompts: dict[int, str],
        negatives: dict[int, str] | None,
        tensors: dict[str, torch.Tensor] | None,
    ) -> Iterator[dict[str, Any]]:
        """The prompt arguments of one call of ``frames`` frames. ``prompts`` (and
        ``negatives``) map a frame of the call to the key-frame text it starts; with
        ``tensors`` (each frame's travelled ``prompt_embeds``, and ``negative_prompt_embeds``
        under guidance) the frames get those, else each frame the text of its key frame, as
        diffusers encodes it."""
        callback = _TextHeld() if tensors is None else _FrameEmbeddings(tensors, frames)
        pipe.enable_free_noise(  # after the first call of a render: only sets these
            context_length=min(MOTION_CONTEXT, frames),
            context_stride=CONTEXT_STRIDE,
            prompt_interpolation_callback=callback,
        )
        arguments: dict[str, Any] = {"prompt": prompts}
        if negatives is not None:
            arguments["negative_prompt"] = negatives
        yield arguments
        callback.check_done()

    def latents_argument(self, pipe: Any, noise: torch.Tensor) -> dict[str, Any]:
        """The window's noise ``(F, C, h, w)`` as one video ``(1, C, F, h, w)``."""
        return {"latents": noise.transpose(0, 1).unsqueeze(0), "num_frames": noise.shape[0]}

    def _with_noise(self, args: tuple, noise: torch.Tensor) -> tuple:
        """``add_noise(samples, noise, timesteps)`` on the encoded video ``(1, F, C, h, w)``."""
        samples, drawn, timesteps = args
        return samples, _matching(noise.unsqueeze(0), drawn), timesteps

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        if mode == IMAGE:
            return {"video": inits, "strength": strength}
        if mode == CONTROL:
            return {"conditioning_frames": controls}
        return {}

    def images(self, result: Any) -> list[Image.Image]:
        (video,) = result.frames
        return list(video)


class _FrameEmbeddings:
    """FreeNoise's ``prompt_interpolation_callback`` for a call given one prompt: diffusers
    asks for frames 0 to F-1 of the prompt, then under guidance of the negative prompt, and
    gets each frame's travelled embeddings instead of an interpolation of its own."""

    def __init__(self, tensors: dict[str, torch.Tensor], frames: int) -> None:
        self._frames = frames
        self._answers = [tensors["prompt_embeds"]]
        if "negative_prompt_embeds" in tensors:
            self._answers.append(tensors["negative_prompt_embeds"])

    def __call__(
        self, start: int, end: int, start_tensor: torch.Tensor, end_tensor: torch.Tensor
    ) -> torch.Tensor:
        if not self._answers or (start, end) != (0, self._frames - 1):
            raise RuntimeError(
                f"FreeNoise asked for the prompt embeddings of frames {start}..{end} of a "
                f"{self._frames}-frame call, which the AnimateDiff family does not expect; "
                "please report this"
            )
        return self._answers.pop(0).to(device=start_tensor.device, dtype=start_tensor.dtype)

    def check_done(self) -> None:
        if self._answers:
            raise RuntimeError(
                "FreeNoise did not ask for every frame's prompt embeddings; please report this"
            )


class _TextHeld:
    """FreeNoise's ``prompt_interpolation_callback`` in text mode: every frame from one
    key frame's prompt up to the next takes that prompt, as without prompt embeddings in the
    image families (diffusers' own callback would interpolate)."""

    def __call__(
        self, start: int, end: int, start_tensor: torch.Tensor, end_tensor: torch.Tensor
    ) -> torch.Tensor:
        return torch.cat([start_tensor.expand(end - start, -1, -1), end_tensor])

    def check_done(self) -> None:
        """Any number of prompts may start in a call."""
