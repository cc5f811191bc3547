"""Random weights that respond to their inputs: a rescaling for the tiny transformer denoisers."""

from __future__ import annotations

import re

import torch

# A layer inside a repeated block (``transformer_blocks.0.attn.to_q``, ``layers.1.ff.linear_1``).
_IN_BLOCK = re.compile(r"\.\d+\.")
_QK_NORMS = ("norm_q", "norm_k", "norm_added_q", "norm_added_k")


def enliven(denoiser: torch.nn.Module, gain: float = 4.0) -> torch.nn.Module:
    """Multiply the weights and biases of every linear layer inside the denoiser's blocks, and
    the scales of its query/key norms, by ``gain``; return the denoiser.

    Fresh from PyTorch's default initialisation a toy-width transformer barely listens to its
    text: attention logits are near zero, so every image token sees the average of all text
    tokens, and the gated block updates are small beside the residual stream. Scaled up, the
    prompt visibly changes the image, as it does in a trained model. Deterministic: no random
    numbers are drawn.
    """
    with torch.no_grad():
        for name, module in denoiser.named_modules():
            if isinstance(module, torch.nn.Linear) and _IN_BLOCK.search(f".{name}"):
                module.weight.mul_(gain)
                if module.bias is not None:
                    module.bias.mul_(gain)
            elif name.rsplit(".", 1)[-1] in _QK_NORMS:
                scale = getattr(module, "weight", None)  # None: a norm without a learned scale
                if scale is not None:
                    scale.mul_(gain)
    return denoiser
