"""Key-frame tensors (noise latents, prompt embeddings) and their slerp to each frame of a batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.render.slerp import slerp

_EMBED_NAMES = {
    2: ("prompt_embeds", "negative_prompt_embeds"),
    4: (
        "prompt_embeds",
        "negative_prompt_embeds",
        "pooled_prompt_embeds",
        "negative_pooled_prompt_embeds",
    ),
}


def key_frame_latents(
    seeds: Sequence[int], shape: tuple[int, ...], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """One noise latent of ``shape`` per seed, stacked: ``(len(seeds), *shape)``.

    Drawn on the CPU in float32 from a generator per seed, so the same seed gives the same
    noise on every device and at every batch size.
    """
    latents = [
        torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)
        for seed in seeds
    ]
    return torch.stack(latents).to(device=device, dtype=dtype)


def encode_key_frame_prompts(
    pipe, prompts: Sequence[str], negative_prompt: str, guidance: bool, device: torch.device
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Encode every key-frame prompt once through the pipeline's own ``encode_prompt``.

    Returns the prompt-dependent tensors (``prompt_embeds`` and, for SDXL-like pipelines,
    ``pooled_prompt_embeds``), each ``(K, ...)``, and the negative ones, each ``(1, ...)``
    (empty without classifier-free guidance).
    """
    if not hasattr(pipe, "encode_prompt"):
        raise SettingsError(
            "use_prompt_embeds",
            f"{type(pipe).__name__} has no encode_prompt; turn off use_prompt_embeds",
        )
    with torch.no_grad():
        encoded = pipe.encode_prompt(
            prompt=list(prompts),
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=guidance,
            negative_prompt=[negative_prompt] * len(prompts) if guidance else None,
        )
    names = _EMBED_NAMES.get(len(encoded)) if isinstance(encoded, tuple) else None
    if names is None:
        raise SettingsError(
            "use_prompt_embeds",
            f"{type(pipe).__name__}.encode_prompt returns an unknown layout; turn off "
            "use_prompt_embeds",
        )
    positive, negative = {}, {}
    for name, tensor in zip(names, encoded, strict=True):
        if tensor is None:
            continue
        if name.startswith("negative_"):
            if guidance:
                negative[name] = tensor[:1]
        else:
            positive[name] = tensor
    return positive, negative


def travel(key_tensors: torch.Tensor, steps: Sequence[FrameStep]) -> torch.Tensor:
    """Each step's tensor: the slerp between its segment's two key-frame tensors at its t."""
    last = key_tensors.shape[0] - 1
    start = torch.tensor([step.segment for step in steps], device=key_tensors.device)
    end = torch.clamp(start + 1, max=last)
    t = torch.tensor([step.t for step in steps], dtype=torch.float32, device=key_tensors.device)
    return slerp(t, key_tensors[start], key_tensors[end])
