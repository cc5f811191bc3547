"""The generic family: any diffusers pipeline no named family claims, driven by what it accepts.

From the signatures (``signatures.py``): ``encode_prompt`` is called with every key frame's
prompt in one call (batch-longest padding lines up), and its returned tensors that ``__call__``
takes travel (masks by their maximum, the rest by slerp) with their ``negative_`` partners; a
pipeline whose ``encode_prompt`` takes no negative prompt encodes the negatives in a second
call. The key-frame noise replaces the noise the pipeline draws itself in ``prepare_latents``,
at whatever shape it draws it. What no signature says is in ``QUIRKS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import torch
from PIL import Image

from giffusion_nb.pipelines.families.base import (
    IMAGE,
    TEXT,
    CallPrompts,
    Family,
    FrameSize,
    TravelledNoise,
    images_only,
)
from giffusion_nb.pipelines.families.noise_entry import drawn_noise
from giffusion_nb.pipelines.families.signatures import Accepts, accepts

# What no signature says, by pipeline class: ``distilled``, its guidance_scale is a guidance
# embedding, not classifier-free guidance (a negative prompt needs nothing of it).
QUIRKS: dict[str, dict[str, Any]] = {
    "Flux2Pipeline": {"distilled": True},
}
# Arguments the call builder sets itself, never copied from __call__ into encode_prompt.
_OWN = frozenset(
    {
        "prompt",
        "negative_prompt",
        "device",
        "dtype",
        "num_images_per_prompt",
        "num_videos_per_prompt",
        "do_classifier_free_guidance",
        "lora_scale",
        "generator",
        "text_encoder_index",
    }
)
# __call__ switches that would rewrite the frame size, and the value that keeps it.
_SIZE_SWITCHES = {"use_resolution_binning": lambda size: False}


class Generic(Family):
    """The family of one pipeline class that no named family claims."""

    examples = ()
    controlnet_model = None
    prompt_weighting = False  # compel weights CLIP prompts only
    needs_image = False
    takes_key_frame_images = False
    pads_prompts_together = True

    def __init__(self, pipeline_class: type) -> None:
        self._class = pipeline_class
        self._accepts = accepts(pipeline_class)
        self._quirks = QUIRKS.get(pipeline_class.__name__, {})

    # --- what the class is ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._class.__name__

    @property
    def pipelines(self) -> dict[str, str]:
        """Its own class only: as image-to-image when it takes an init image to noise."""
        return {self.init_mode: self._class.__name__}

    @property
    def init_mode(self) -> str:
        """IMAGE for a class that noises an init image (``image`` and ``strength``)."""
        return IMAGE if self._accepts.call_takes("image", "strength") else TEXT

    @property
    def takes_negative_prompt(self) -> bool:
        return self._accepts.call_takes("negative_prompt") or self._accepts.call_takes(
            "negative_prompt_embeds"
        )

    @property
    def mask_names(self) -> frozenset[str]:
        return frozenset(name for name in self.travelling() if name.endswith("mask"))

    # --- prompts --------------------------------------------------------------------------

    def travelling(self) -> list[str]:
        """The tensors ``encode_prompt`` returns that ``__call__`` takes (positive ones)."""
        a = self._accepts
        returned = a.returns or ()
        names = [name for name in returned if name in a.call and not name.startswith("negative")]
        for index in range(1, self._encoder_count()):
            names += [f"{name}_{index + 1}" for name in names if f"{name}_{index + 1}" in a.call]
        return names

    def travel_problem(self, pipe: Any) -> str | None:
        a = self._accepts
        if a.encode is None:
            return f"{self.name} has no encode_prompt"
        if a.returns is None:
            return f"the tensors {self.name}.encode_prompt returns cannot be named"
        if "prompt_embeds" not in self.travelling():
            return f"{self.name}.__call__ takes no prompt_embeds of the kind encode_prompt makes"
        return None

    def encode_prompts(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        call_values: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One call for the prompts and their negatives where ``encode_prompt`` takes
        negatives, else a second call for the negatives; per text encoder index for classes
        that encode one encoder at a time (``text_encoder_index``). Each parameter that
        ``encode_prompt`` shares with ``__call__`` (``max_sequence_length``, Sana's
        ``complex_human_instruction``…) gets the call's value: ``call_values`` (the user's
        ``pipeline_kwargs``), else ``__call__``'s default, which can differ from
        ``encode_prompt``'s."""
        shared = self._shared_with_call(call_values or {})
        tensors: dict[str, torch.Tensor] = {}
        for index in range(self._encoder_count()):
            suffix = "" if index == 0 else f"_{index + 1}"
            named = self._encode(pipe, prompts, negatives, device, index, shared)
            if negatives is not None and not self._encodes_negatives():
                second = self._encode(pipe, negatives, None, device, index, shared)
                named.update({f"negative_{name}": value for name, value in second.items()})
            tensors.update({self._suffixed(name, suffix): value for name, value in named.items()})
        return {name: value for name, value in tensors.items() if name in self._accepts.call}

    def _encode(
        self,
        pipe: Any,
        prompts: Sequence[str],
        negatives: Sequence[str] | None,
        device: Any,
        index: int,
        shared: dict[str, Any],
    ) -> dict[str, torch.Tensor]:
        a = self._accepts
        arguments: dict[str, Any] = {"prompt": list(prompts)}
        for name in a.required_encode_parameters():
            arguments.setdefault(name, None)  # e.g. prompt_2: None repeats the prompt
        optional = {
            "device": device,
            "num_images_per_prompt": 1,
            "num_videos_per_prompt": 1,
            "text_encoder_index": index,
        }
        if self._encodes_negatives():
            optional["do_classifier_free_guidance"] = negatives is not None
            if negatives is not None:
                optional["negative_prompt"] = list(negatives)
        arguments.update({name: value for name, value in optional.items() if name in a.encode})
        arguments.update(shared)
        returned = pipe.encode_prompt(**arguments)
        values = returned if isinstance(returned, tuple) else (returned,)
        if len(values) != len(a.returns):
            raise RuntimeError(
                f"{self.name}.encode_prompt returned {len(values)} values where its code names "
                f"{len(a.returns)}; please report this"
            )
        named = {}
        for name, value in zip(a.returns, values, strict=True):
            if isinstance(value, torch.Tensor) and value.shape[:1] == (len(prompts),):
                named[name] = value
        return named

    def _shared_with_call(self, values: Mapping[str, Any]) -> dict[str, Any]:
        a = self._accepts
        shared = [name for name in a.encode or () if name in a.call and name not in _OWN]
        shared = [name for name in shared if not name.endswith(("embeds", "mask"))]
        return {name: values[name] if name in values else a.call_default(name) for name in shared}

    def prompt_arguments(self, prompts: CallPrompts) -> dict[str, Any]:
        """As every family; with travelled tensors a ``negative_prompt`` whose default is text
        (``""``) is set to ``None``, which the pipeline requires beside negative embeddings."""
        arguments = super().prompt_arguments(prompts)
        text_default = self._accepts.call_default("negative_prompt") is not None
        if prompts.tensors is not None and text_default:
            arguments["negative_prompt"] = None
        return arguments

    def _encodes_negatives(self) -> bool:
        return "negative_prompt" in (self._accepts.encode or {})

    def _encoder_count(self) -> int:
        return 2 if "text_encoder_index" in (self._accepts.encode or {}) else 1

    @staticmethod
    def _suffixed(name: str, suffix: str) -> str:
        return name + suffix

    # --- guidance -------------------------------------------------------------------------

    def uses_guidance(self, guidance_scale: float, pipeline_kwargs: dict[str, Any]) -> bool:
        if not self.takes_negative_prompt:
            return False
        if self._accepts.call_takes("true_cfg_scale"):
            default = self._accepts.call_default("true_cfg_scale")
            return float(pipeline_kwargs.get("true_cfg_scale", default or 1.0)) > 1
        if self._quirks.get("distilled"):
            return False
        return guidance_scale > 1

    def negative_prompt_problem(
        self, guidance_scale: float, pipeline_kwargs: dict[str, Any]
    ) -> str | None:
        if not self.takes_negative_prompt:
            return f"{self.name} takes no negative prompt; clear it"
        if self.uses_guidance(guidance_scale, pipeline_kwargs):
            return None
        if self._accepts.call_takes("true_cfg_scale"):
            return (
                f"has no effect on {self.name} without true classifier-free guidance; add "
                '{"true_cfg_scale": 4.0} to pipeline_kwargs, or clear it'
            )
        return "has no effect with guidance_scale <= 1; raise guidance_scale or clear it"

    def guidance_arguments(self, pipe: Any, guidance_scale: float) -> dict[str, Any]:
        """``guidance_scale`` where the call reads it: a pipeline whose default is ``None``
        (Qwen-Image) reads it only as the guidance embedding of a model that has one."""
        if not self._accepts.call_takes("guidance_scale"):
            return {}
        if self._accepts.call_default("guidance_scale") is None:
            config = getattr(getattr(pipe, "transformer", None), "config", None)
            if not getattr(config, "guidance_embeds", False):
                return {}
        return {"guidance_scale": guidance_scale}

    # --- frames and noise -----------------------------------------------------------------

    def latent_channels(self, pipe: Any) -> None:
        return None  # the pipeline draws its noise at its own shape

    def size_multiple(self, pipe: Any) -> int:
        """The VAE's scale times the transformer's patch, or 2x2 packing (``_pack_latents``)."""
        scale = getattr(pipe, "vae_scale_factor", None) or 8
        denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
        patch = getattr(getattr(denoiser, "config", None), "patch_size", None) or 1
        if isinstance(patch, (list, tuple)):
            patch = max(patch)
        packing = 2 if hasattr(pipe, "_pack_latents") else 1
        return scale * max(int(patch), packing)

    def native_size(self, pipe: Any) -> int:
        sample = getattr(pipe, "default_sample_size", None)
        if sample is None:
            denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
            sample = getattr(getattr(denoiser, "config", None), "sample_size", None) or 128
        return int(sample) * (getattr(pipe, "vae_scale_factor", None) or 8)

    def noise_entry(
        self,
        pipe: Any,
        mode: str,
        noise: TravelledNoise,
        size: FrameSize,
        arguments: dict[str, Any],
    ) -> AbstractContextManager:
        """The noise ``prepare_latents`` draws for the call's frames is theirs, at its shape."""

        def supply(shape: tuple[int, ...]) -> torch.Tensor:
            if shape[0] != noise.count:
                raise RuntimeError(
                    f"{self.name} drew noise for {shape[0]} images where the call renders "
                    f"{noise.count}; please report this"
                )
            return noise(shape[1:])

        return drawn_noise(pipe, supply)

    def mode_for(self, controlnet: bool, has_init: bool) -> str:
        return IMAGE if has_init and self.init_mode == IMAGE else TEXT

    def image_arguments(
        self,
        mode: str,
        inits: list[Image.Image] | None,
        controls: list[Any] | None,
        strength: float | None,
    ) -> dict[str, Any]:
        """An init image to noise (``image`` and ``strength``), or a reference image the class
        takes as ``image`` (an edit or context image)."""
        if inits is None:
            return {}
        if mode == IMAGE:
            return {"image": inits, "strength": strength}
        return {"image": inits}

    def call_defaults(self, pipe: Any, size: FrameSize) -> dict[str, Any]:
        """Size switches set to keep the size asked for (``use_resolution_binning`` off,
        ``max_area`` the frame's area)."""
        defaults = {
            name: keep(size) for name, keep in _SIZE_SWITCHES.items() if name in self._accepts.call
        }
        if "max_area" in self._accepts.call:
            defaults["max_area"] = size.height * size.width
        return defaults

    def images(self, result: Any) -> list[Image.Image]:
        return list(result.images)

    windows = images_only


def generic_problem(pipeline_class: type) -> str | None:
    """Why the generic family cannot render ``pipeline_class`` (``None``: it can)."""
    a: Accepts = accepts(pipeline_class)
    lacking = [name for name in ("prompt", "latents") if name not in a.call]
    if lacking:
        return f"its call takes no {' and no '.join(lacking)}"
    if not hasattr(pipeline_class, "prepare_latents"):
        return "it has no prepare_latents to give the key frames' noise to"
    return None
