"""Weighted prompts encoded by compel through a CLIP text encoder, 77 tokens like the plain path
(so every prompt's embeddings have one length and travel by slerp); plain prompts are encoded
by the pipeline as always, and the rows come back in the order given."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from giffusion_nb.keyframes.weights import WeightedPrompt

Encode = Callable[[list], dict[str, torch.Tensor]]


def encode_in_order(
    texts: Sequence[str | WeightedPrompt], plain: Encode, weighted: Encode
) -> dict[str, torch.Tensor]:
    """Each name's rows for ``texts``: plain texts through ``plain`` in one call, weighted
    prompts through ``weighted``, stacked back in the order of ``texts``."""
    plain_at = [index for index, text in enumerate(texts) if isinstance(text, str)]
    weighted_at = [index for index, text in enumerate(texts) if not isinstance(text, str)]
    parts = []
    if plain_at:
        parts.append((plain_at, plain([texts[index] for index in plain_at])))
    if weighted_at:
        parts.append((weighted_at, weighted([texts[index] for index in weighted_at])))
    rows: dict[str, list[torch.Tensor | None]] = {}
    for indices, tensors in parts:
        for name, tensor in tensors.items():
            column = rows.setdefault(name, [None] * len(texts))
            for position, index in enumerate(indices):
                column[index] = tensor[position]
    return {name: torch.stack(column) for name, column in rows.items()}


def clip_embeddings(
    tokenizer, text_encoder, prompts: Sequence[WeightedPrompt], device, *, penultimate: bool
) -> torch.Tensor:
    """``(len(prompts), 77, dim)`` weighted token embeddings: the last hidden states (one CLIP
    encoder), or the penultimate ones before the final norm (two, side by side)."""
    from compel import EmbeddingsProvider, ReturnedEmbeddingsType

    kind = ReturnedEmbeddingsType.LAST_HIDDEN_STATES_NORMALIZED
    if penultimate:
        kind = ReturnedEmbeddingsType.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
    provider = EmbeddingsProvider(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        truncate=True,  # 77 tokens, as the pipeline's own encoding
        returned_embeddings_type=kind,
        device=device,
    )
    rows = [
        provider.get_embeddings_for_weighted_prompt_fragments(
            text_batch=[[fragment.text for fragment in prompt.fragments]],
            fragment_weights_batch=[[fragment.weight for fragment in prompt.fragments]],
            device=device,
        )
        for prompt in prompts
    ]
    return torch.cat(rows).to(device)


def clip_pooled(tokenizer, text_encoder, prompts: Sequence[WeightedPrompt], device) -> torch.Tensor:
    """``(len(prompts), dim)`` pooled embeddings of the prompts' text: compel does not weight
    the pooled embedding, so it is the unweighted text's."""
    from compel import EmbeddingsProvider

    provider = EmbeddingsProvider(tokenizer=tokenizer, text_encoder=text_encoder, device=device)
    pooled = provider.get_pooled_embeddings([prompt.text for prompt in prompts], device=device)
    return pooled.to(device=device, dtype=text_encoder.dtype)
