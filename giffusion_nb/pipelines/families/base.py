"""What a pipeline family says about itself; the defaults are Stable Diffusion 1.x/2.x's.

A family knows how its pipelines encode prompts and which tensors travel, the shape of its
noise latents and how the key-frame noise enters a call (as ``latents``, or through the
scheduler when an image-to-image pipeline noises its init image), its sibling pipelines for
image, ControlNet and inpainting input, the arguments each takes, and how to read the frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.weights import WeightedPrompt
from giffusion_nb.pipelines.families.windows import Window
from giffusion_nb.pipelines.weighted_prompts import clip_embeddings, encode_in_order

# The modes a render calls a family's pipelines in.
TEXT = "text"  # from noise
IMAGE = "image"  # from an init image (image-to-image, 2D motion)
CONTROL = "control"  # from noise, guided by a ControlNet conditioning image
CONTROL_IMAGE = "control_image"  # from an init image, guided by a ControlNet
INPAINT = "inpaint"  # recognised, not rendered: giffusion_nb has no mask input


@dataclass(frozen=True)
class PromptTensors:
    """The encoded prompts of some key frames.

    ``per_prompt`` tensors have one row per prompt (the key frames' travel between them);
    ``shared`` tensors are the same for every prompt (Flux's ``text_ids``).
    """

    per_prompt: dict[str, torch.Tensor]
    shared: dict[str, torch.Tensor]


class Family:
    """Stable Diffusion 1.x/2.x; other families override what differs."""

    name: ClassVar[str] = "Stable Diffusion"
    # mode -> the diffusers class of that mode
    pipelines: ClassVar[dict[str, str]] = {
        TEXT: "StableDiffusionPipeline",
        IMAGE: "StableDiffusionImg2ImgPipeline",
        CONTROL: "StableDiffusionControlNetPipeline",
        CONTROL_IMAGE: "StableDiffusionControlNetImg2ImgPipeline",
        INPAINT: "StableDiffusionInpaintPipeline",
    }
    controlnet_model: ClassVar[str | None] = "ControlNetModel"
    # The scheduler method an image-to-image pipeline noises its init latents with.
    noise_method: ClassVar[str] = "add_noise"
    # Per-prompt tensors combined by their maximum instead of slerp (attention masks).
    mask_names: ClassVar[frozenset[str]] = frozenset()
    # Control image argument in CONTROL mode (CONTROL_IMAGE mode always uses control_image).
    control_argument: ClassVar[str] = "image"
    takes_negative_prompt: ClassVar[bool] = True
    # Prompt weights (``(word:1.3)``) are encoded with compel: CLIP text encoders only.
    prompt_weighting: ClassVar[bool] = True
    # Every frame needs an image: one from the inputs or the previous frame (InstructPix2Pix).
    needs_image: ClassVar[bool] = False

    # --- which pipelines ------------------------------------------------------------------

    def mode_of(self, pipe: Any) -> str:
        """The mode of a loaded pipeline of this family."""
        name = type(pipe).__name__
        for mode, class_name in self.pipelines.items():
            if class_name == name:
                return mode
        raise ValueError(f"{name} is not a {self.name} pipeline")

    def sibling(self, pipe: Any, mode: str, **components: Any) -> Any:
        """The pipeline of ``mode`` sharing ``pipe``'s weights (``pipe`` itself when it is)."""
        if self.mode_of(pipe) == mode and not components:
            return pipe
        import diffusers

        class_name = self.pipelines.get(mode)
        if class_name is None:
            raise SettingsError(
                "pipeline_class", f"{self.name} has no {_MODE_WORDS[mode]} pipeline in diffusers"
            )
        sibling = getattr(diffusers, class_name).from_pipe(pipe, **components)
        sibling.set_progress_bar_config(disable=True)
        return sibling

    # --- prompts --------------------------------------------------------------------------

    def encode_prompts(
        self, pipe: Any, prompts: Sequence[str], negatives: Sequence[str] | None, device: Any
    ) -> PromptTensors:
        """Encode prompts (and negative prompts for classifier-free guidance) in one call;
        with weighted prompts among them see ``encode_weighted``."""
        if _any_weighted(prompts, negatives):
            return self.encode_weighted(pipe, prompts, negatives, device)
        embeds, negative = pipe.encode_prompt(
            prompt=list(prompts),
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=negatives is not None,
            negative_prompt=None if negatives is None else list(negatives),
        )
        tensors = {"prompt_embeds": embeds}
        if negatives is not None:
            tensors["negative_prompt_embeds"] = negative
        return PromptTensors(tensors, {})

    def encode_weighted(
        self,
        pipe: Any,
        prompts: Sequence[str | WeightedPrompt],
        negatives: Sequence[str | WeightedPrompt] | None,
        device: Any,
    ) -> PromptTensors:
        """Every text (prompts, then negatives) encoded as a prompt: plain ones as the pipeline
        encodes them, weighted ones by compel (``weighted_embeddings``); a negative's tensors
        are named ``negative_`` and the prompt's name."""
        texts = [*prompts, *(negatives or ())]

        def plain(batch: list[str]) -> dict[str, torch.Tensor]:
            return self.encode_prompts(pipe, batch, None, device).per_prompt

        def weighted(batch: list[WeightedPrompt]) -> dict[str, torch.Tensor]:
            return self.weighted_embeddings(pipe, batch, device)

        rows = encode_in_order(texts, plain, weighted)
        count = len(prompts)
        tensors = {name: tensor[:count] for name, tensor in rows.items()}
        if negatives is not None:
            tensors.update({f"negative_{name}": tensor[count:] for name, tensor in rows.items()})
        return PromptTensors(tensors, {})

    def weighted_embeddings(
        self, pipe: Any, prompts: list[WeightedPrompt], device: Any
    ) -> dict[str, torch.Tensor]:
        """The tensors of weighted prompts, named as ``encode_prompts`` names a prompt's."""
        embeds = clip_embeddings(
            pipe.tokenizer, pipe.text_encoder, prompts, device, penultimate=False
        )
        return {"prompt_embeds": embeds}

    def text_arguments(self, prompts: list[str], negatives: list[str] | None) -> dict[str, Any]:
        """Prompt arguments of a call from text (``use_prompt_embeds`` off)."""
        arguments: dict[str, Any] = {"prompt": prompts}
        if negatives is not None:
            arguments["negative_prompt"] = negatives
        return arguments

    # --- guidance -------------------------------------------------------------------------

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        """Whether calls run classifier-free guidance (and so read negative prompts)."""
        return guidance_scale > 1

    def check_negative_prompt(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> None:
        """A negative prompt must have an effect, or it is an error."""
        if not self.takes_negative_prompt:
            raise SettingsError("negative_prompt", f"{self.name} pipelines take no negative prompt")
        if not self.uses_guidance(guidance_scale, pipeline_kwargs):
            raise SettingsError(
                "negative_prompt",
                "has no effect with guidance_scale <= 1; raise guidance_scale or clear it",
            )

    def guidance_arguments(self, guidance_scale: float) -> dict[str, Any]:
        return {"guidance_scale": guidance_scale}

    # --- latents --------------------------------------------------------------------------

    def latent_channels(self, pipe: Any) -> int:
        """Channels of the noise latent the denoiser starts from."""
        return pipe.unet.config.in_channels

    def size_multiple(self, pipe: Any) -> int:
        """Frame sides must be multiples of this many pixels."""
        return pipe.vae_scale_factor

    def native_size(self, pipe: Any) -> int:
        """The frame side the model was trained at, in pixels."""
        sample = getattr(pipe, "default_sample_size", None)
        if sample is None:
            sample = pipe.unet.config.sample_size
        return sample * pipe.vae_scale_factor

    def noise_shape(self, pipe: Any, channels: int, height: int, width: int) -> tuple[int, ...]:
        """One frame's noise latent, as slerped (before any packing)."""
        scale = pipe.vae_scale_factor
        return (channels, height // scale, width // scale)

    def latents_argument(self, pipe: Any, noise: torch.Tensor) -> dict[str, Any]:
        """How a batch of noise ``(B, *noise_shape)`` is passed to a call from noise."""
        return {"latents": noise}

    @contextmanager
    def noise_entry(self, pipe: Any, noise: torch.Tensor) -> Iterator[None]:
        """During an image-to-image call, noise the init latents with ``noise`` instead of
        the pipeline's own random draw: its scheduler's noising method is borrowed for the
        call and always given back."""
        scheduler = pipe.scheduler
        original = getattr(scheduler, self.noise_method)

        def noised(*args: Any) -> torch.Tensor:
            return original(*self._with_noise(args, noise))

        setattr(scheduler, self.noise_method, noised)
        try:
            yield
        finally:
            delattr(scheduler, self.noise_method)  # the class's method shows again

    def _with_noise(self, args: tuple, noise: torch.Tensor) -> tuple:
        """``add_noise(samples, noise, timesteps)`` with our noise in place of the drawn one."""
        samples, drawn, timesteps = args
        return samples, _matching(noise, drawn), timesteps

    # --- images ---------------------------------------------------------------------------

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        """The image arguments of a call in ``mode``."""
        arguments: dict[str, Any] = {}
        if mode in (IMAGE, CONTROL_IMAGE):
            arguments["image"], arguments["strength"] = inits, strength
        if mode == CONTROL:
            arguments[self.control_argument] = controls
        if mode == CONTROL_IMAGE:
            arguments["control_image"] = controls
        return arguments

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        """The mode of a frame: with a ControlNet or not, from an init image or from noise."""
        if controlnet:
            return CONTROL_IMAGE if has_init else CONTROL
        return IMAGE if has_init else TEXT

    def call_defaults(self) -> dict[str, Any]:
        """Arguments every call of the family gets unless ``pipeline_kwargs`` sets them."""
        return {}

    def embeds_arguments(self, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The arguments of a call from prompt embeddings (the travelled tensors)."""
        return dict(tensors)

    def images(self, result: Any) -> list[Image.Image]:
        """The frames of a call's output."""
        return list(result.images)

    # --- video families -------------------------------------------------------------------

    def windows(self, num_frames: int, size: int, overlap: int) -> list[Window] | None:
        """The windows of frames one call renders together (a video family), or ``None``:
        frames are independent images, batched by ``batch_size``."""
        return None

    def frame_prompts(
        self,
        pipe: Any,
        frames: int,
        prompts: dict[int, str],
        negatives: dict[int, str] | None,
        tensors: dict[str, torch.Tensor] | None,
    ) -> AbstractContextManager[dict[str, Any]]:
        """A video family's prompt arguments for one window, around its call."""
        raise NotImplementedError(f"{self.name} renders images, not windows of a video")

    @contextmanager
    def rendering(self, pipes: Sequence[Any]) -> Iterator[None]:
        """Around all the calls of a render: state the family sets on its pipelines for the
        calls is given back at the end."""
        yield


def _any_weighted(*texts: Sequence[str | WeightedPrompt] | None) -> bool:
    return any(isinstance(text, WeightedPrompt) for group in texts for text in group or ())


def _matching(noise: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """Our noise in place of ``drawn``: same shape, device and dtype, or an error."""
    if noise.shape != drawn.shape:
        raise RuntimeError(
            f"the pipeline drew noise of shape {tuple(drawn.shape)}, the key frames' noise has "
            f"{tuple(noise.shape)}"
        )
    return noise.to(device=drawn.device, dtype=drawn.dtype)


_MODE_WORDS = {
    TEXT: "text-to-image",
    IMAGE: "image-to-image",
    CONTROL: "ControlNet",
    CONTROL_IMAGE: "ControlNet image-to-image",
    INPAINT: "inpainting",
}


def mode_words(mode: str) -> str:
    """A mode as people say it: ``image-to-image``."""
    return _MODE_WORDS[mode]
