"""AnimateDiff: Stable Diffusion with a motion adapter; one call renders a window of frames."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.base import (
    CONTROL,
    IMAGE,
    TEXT,
    CallPrompts,
    Family,
    FrameSize,
    TravelledNoise,
    guidance_scale_argument,
    guided_above_one,
    negative_needs_guidance,
    standard_mode,
)
from giffusion_nb.pipelines.families.noise_entry import scheduler_noise
from giffusion_nb.pipelines.families.sd import StableDiffusion, latent_shape
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
    ``conditioning_frames``. Prompts are Stable Diffusion 1.5's CLIP prompts (weights too).
    """

    name = "AnimateDiff"
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "AnimateDiffPipeline",
        IMAGE: "AnimateDiffVideoToVideoPipeline",
        CONTROL: "AnimateDiffControlNetPipeline",
    }
    examples = ("emilianJR/epiCRealism",)
    controlnet_model = "ControlNetModel"
    prompt_weighting = True
    takes_negative_prompt = True
    needs_image = False
    takes_key_frame_images = False
    mask_names = frozenset()
    pads_prompts_together = False  # fixed-length padding

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[Any],
        negatives: Sequence[Any] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        return StableDiffusion.encode_prompts(self, pipe, prompts, negatives, device)

    def weighted_embeddings(self, pipe: Any, prompts: list, device: Any) -> dict[str, Any]:
        return StableDiffusion.weighted_embeddings(self, pipe, prompts, device)

    uses_guidance = guided_above_one

    negative_prompt_problem = negative_needs_guidance

    guidance_arguments = guidance_scale_argument

    def latent_channels(self, pipe: Any) -> int:
        return pipe.unet.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor

    def native_size(self, pipe: Any) -> int:
        return pipe.unet.config.sample_size * pipe.vae_scale_factor

    def windows(
        self,
        pipe: Any,
        num_frames: int,
        size: int | None,
        overlap: int,
        anchors: list[int],
        join: str,
    ) -> list[Window] | None:
        if join != "overlap":
            raise SettingsError(
                "video_join", f"{self.name} joins windows by their overlap only; choose overlap"
            )
        return video_windows(num_frames, MOTION_CONTEXT if size is None else size, overlap)

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
    def call_prompts(self, pipe: Any, prompts: CallPrompts) -> Iterator[dict[str, Any]]:
        """The prompt arguments of one window. With travelled tensors (each frame's
        ``prompt_embeds``, and ``negative_prompt_embeds`` under guidance) the frames get
        those through FreeNoise's callback; with text, each frame from one key frame up to the
        next takes that key frame's text (FreeNoise reads ``{frame: text}``)."""
        frames = len(prompts.segments)
        starts = [
            position
            for position, segment in enumerate(prompts.segments)
            if position == 0 or segment != prompts.segments[position - 1]
        ]
        if prompts.tensors is not None:
            callback: Any = _FrameEmbeddings(prompts.tensors, frames)
            starts = [0]
        else:
            callback = _TextHeld()
        pipe.enable_free_noise(  # after the first call of a render: only sets these
            context_length=min(MOTION_CONTEXT, frames),
            context_stride=CONTEXT_STRIDE,
            prompt_interpolation_callback=callback,
        )
        arguments: dict[str, Any] = {"prompt": {p: prompts.texts[p] for p in starts}}
        if prompts.negatives is not None and prompts.tensors is None:
            arguments["negative_prompt"] = {p: prompts.negatives[p] for p in starts}
        yield arguments
        callback.check_done()

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """From noise: the window's noise ``(F, C, h, w)`` as one video ``(1, C, F, h, w)``;
        video-to-video: ``add_noise`` of the encoded video ``(1, F, C, h, w)``."""
        frames = noise(latent_shape(pipe, size))
        if mode == IMAGE:
            return scheduler_noise(pipe, "add_noise", 1, frames.unsqueeze(0))
        arguments["latents"] = frames.transpose(0, 1).unsqueeze(0)
        arguments["num_frames"] = frames.shape[0]
        return nullcontext()

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        return standard_mode(controlnet, has_init)

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

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
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
