"""The one interface every pipeline family is written against.

A family states each of its capabilities: how its pipelines encode prompts and which tensors
travel, the shape of its frames and latents, where a call's key-frame noise enters, its sibling
pipelines for image and ControlNet input, the arguments each takes, how to read the frames, and
whether one call renders a batch of images or a window of a video. The interface itself states
none of them: ``Family.__init_subclass__`` refuses a family that leaves one out, so no family
behaves like another by accident (a family may subclass a named family on purpose).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families.windows import Window

# The modes a render calls a family's pipelines in.
TEXT = "text"  # from noise
IMAGE = "image"  # from an init image (image-to-image, 2D motion)
CONTROL = "control"  # from noise, guided by a ControlNet conditioning image
CONTROL_IMAGE = "control_image"  # from an init image, guided by a ControlNet
INPAINT = "inpaint"  # recognised, not rendered: giffusion_nb has no mask input
FROM_IMAGE = (IMAGE, CONTROL_IMAGE)

# What every family states (class attributes and methods); see the module docstring.
CAPABILITIES = (
    "name",  # as people say it, in messages
    "pipelines",  # mode -> diffusers class name
    "examples",  # checkpoints to try (the panel's suggestions)
    "controlnet_model",  # the diffusers ControlNet model class, or None
    "prompt_weighting",  # whether (word:1.3) weights can be encoded (compel)
    "takes_negative_prompt",
    "needs_image",  # every frame edits an input image
    "takes_key_frame_images",  # a key frame's `--image` reaches the call (a video model)
    "mask_names",  # per-prompt tensors that travel by their maximum, never by slerp
    "pads_prompts_together",  # all key-frame prompts encoded in one call (batch-longest padding)
    "encode_prompts",
    "uses_guidance",
    "negative_prompt_problem",
    "guidance_arguments",
    "latent_channels",
    "size_multiple",
    "native_size",
    "noise_entry",
    "mode_for",
    "image_arguments",
    "call_defaults",
    "images",
    "windows",
)


@dataclass(frozen=True)
class FrameSize:
    """The frames of a render: height and width in pixels, and the noise latent's channels
    (``None`` where the pipeline draws its noise at its own shape)."""

    height: int
    width: int
    channels: int | None


class TravelledNoise:
    """The key-frame noise of a call's frames, travelled to each frame's t, at whatever shape
    per frame a family or its pipeline asks for: ``noise(shape)`` is ``(frames, *shape)``."""

    def __init__(self, make: Any, count: int) -> None:
        self._make = make  # shape -> (count, *shape) on the pipeline's device and dtype
        self.count = count  # frames of the call

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        return self._make(tuple(shape))


@dataclass(frozen=True)
class CallPrompts:
    """The prompts of one call's frames: each frame's travelled prompt tensors (``None``: text
    prompts), each frame's key-frame text, and its negative text (``None``: no guidance)."""

    tensors: dict[str, torch.Tensor] | None
    texts: list[str]
    negatives: list[str] | None
    segments: list[int]  # the key frame each frame travels from


class Family:
    """A pipeline family. Subclasses state every name in ``CAPABILITIES``."""

    name: ClassVar[str]
    pipelines: ClassVar[dict[str, str]]
    examples: ClassVar[tuple[str, ...]]
    controlnet_model: ClassVar[str | None]
    prompt_weighting: ClassVar[bool]
    takes_negative_prompt: ClassVar[bool]
    needs_image: ClassVar[bool]
    takes_key_frame_images: ClassVar[bool]
    mask_names: ClassVar[frozenset[str]]
    pads_prompts_together: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        stated = {name for klass in cls.__mro__ if klass is not Family for name in vars(klass)}
        missing = [name for name in CAPABILITIES if name not in stated]
        if missing:
            raise TypeError(f"the family {cls.__name__} does not state {', '.join(missing)}")

    # --- capabilities: stated by every family --------------------------------------------

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[Any],
        negatives: Sequence[Any] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Each travelling tensor of the prompts (and of the negative prompts for guidance),
        one row per prompt, named as the pipeline's call takes them; ``call_values`` are the
        call's own arguments (``pipeline_kwargs``), for what encoding shares with the call."""
        raise NotImplementedError

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        """Whether calls run classifier-free guidance (and so read negative prompts)."""
        raise NotImplementedError

    def negative_prompt_problem(
        self, guidance_scale: float, pipeline_kwargs: dict[str, Any]
    ) -> str | None:
        """Why a negative prompt would have no effect (``None``: it has one)."""
        raise NotImplementedError

    def guidance_arguments(self, pipe: Any, guidance_scale: float) -> dict[str, Any]:
        """The call's guidance arguments."""
        raise NotImplementedError

    def latent_channels(self, pipe: Any) -> int | None:
        """Channels of the noise latent (``None``: the pipeline's own, whatever it draws)."""
        raise NotImplementedError

    def size_multiple(self, pipe: Any) -> int:
        """Frame sides must be multiples of this many pixels."""
        raise NotImplementedError

    def native_size(self, pipe: Any) -> int:
        """The frame side the model was trained at, in pixels."""
        raise NotImplementedError

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """Where a call's key-frame noise goes: into ``arguments`` (``latents``), or into the
        pipeline's own draw or noising of an init during the call (the returned context)."""
        raise NotImplementedError

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        """The mode of a frame: with a ControlNet or not, from an init image or from noise."""
        raise NotImplementedError

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        """The image arguments of a call in ``mode``."""
        raise NotImplementedError

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
        """Arguments every call gets unless ``pipeline_kwargs`` sets them."""
        raise NotImplementedError

    def images(self, result: Any) -> list[Image.Image]:
        """The frames of a call's output."""
        raise NotImplementedError

    def windows(
        self,
        pipe: Any,
        num_frames: int,
        size: int | None,
        overlap: int,
        anchors: list[int],
        join: str,
    ) -> list[Window] | None:
        """The windows of frames one call renders together (a video family; ``size``
        ``None``: the model's own), or ``None``: frames are independent images, batched by
        ``batch_size``. ``anchors``: the key frames that carry an image; ``join``: how windows
        join (``video_join``)."""
        raise NotImplementedError

    # --- mechanisms every family shares (diffusers' own conventions) ----------------------

    def mode_of(self, pipe: Any) -> str:
        """The mode of a loaded pipeline of this family."""
        name = type(pipe).__name__
        for mode, class_name in self.pipelines.items():
            if class_name == name:
                return mode
        raise ValueError(f"{name} is not a {self.name} pipeline")

    def sibling(self, pipe: Any, mode: str, **components: Any) -> Any:
        """The pipeline of ``mode`` sharing ``pipe``'s weights (``pipe`` itself when it is),
        made with diffusers' ``from_pipe``."""
        if self.mode_of(pipe) == mode and not components:
            return pipe
        import diffusers

        class_name = self.pipelines.get(mode)
        if class_name is None:
            raise SettingsError(
                "pipeline_class", f"{self.name} has no {mode_words(mode)} pipeline in diffusers"
            )
        sibling = getattr(diffusers, class_name).from_pipe(pipe, **components)
        sibling.set_progress_bar_config(disable=True)
        return sibling

    def prompt_arguments(self, prompts: CallPrompts) -> dict[str, Any]:
        """A batch's prompt arguments: each frame's travelled tensors, or its key frame's text
        (and negative text under guidance)."""
        if prompts.tensors is not None:
            return dict(prompts.tensors)
        arguments: dict[str, Any] = {"prompt": prompts.texts}
        if prompts.negatives is not None:
            arguments["negative_prompt"] = prompts.negatives
        return arguments

    def key_frame_arguments(
        self, pipe: Any, window: Window, images: Mapping[int, Image.Image]
    ) -> dict[str, Any]:
        """The call arguments that give a window the key-frame images (frame -> picture) of
        a family that ``takes_key_frame_images``."""
        return {}

    def call_prompts(self, pipe: Any, prompts: CallPrompts) -> AbstractContextManager[dict]:
        """The prompt arguments of one call, around it (a video family may set state on the
        pipeline for the call)."""
        return nullcontext(self.prompt_arguments(prompts))

    @contextmanager
    def rendering(self, pipes: Sequence[Any]) -> Iterator[None]:
        """Around all the calls of a render: state a family sets on its pipelines for the
        calls is given back at the end."""
        yield

    def travel_problem(self, pipe: Any) -> str | None:
        """Why prompts cannot travel by their embeddings on this pipeline (``None``: they can);
        the render then travels by noise alone, each frame taking its key frame's text."""
        return None


# --- statements many families make, stated by name in a family (``windows = images_only``) ---


def guided_above_one(
    family: Family, guidance_scale: float, pipeline_kwargs: dict[str, Any]
) -> bool:
    """``uses_guidance`` of classifier-free guidance: on when guidance_scale is above 1."""
    return guidance_scale > 1


def negative_needs_guidance(
    family: Family, guidance_scale: float, pipeline_kwargs: dict[str, Any]
) -> str | None:
    """``negative_prompt_problem`` of classifier-free guidance above 1."""
    if guidance_scale > 1:
        return None
    return "has no effect with guidance_scale <= 1; raise guidance_scale or clear it"


def guidance_scale_argument(family: Family, pipe: Any, guidance_scale: float) -> dict[str, Any]:
    """``guidance_arguments``: the call's ``guidance_scale``."""
    return {"guidance_scale": guidance_scale}


def images_only(
    family: Family,
    pipe: Any,
    num_frames: int,
    size: int | None,
    overlap: int,
    anchors: list[int],
    join: str,
) -> None:
    """``windows`` of an image family: none, its frames are batched by ``batch_size``."""
    return None


def standard_mode(controlnet: bool, has_init: bool) -> str:
    """The mode of a frame as diffusers' pipeline sets name them: with a ControlNet or not,
    from an init image or from noise (a family without that mode refuses it by name)."""
    if controlnet:
        return CONTROL_IMAGE if has_init else CONTROL
    return IMAGE if has_init else TEXT


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
