"""Tiny random-weight ControlNets for the tiny SD, SDXL, SD3 and Flux pipelines, whose control
image really changes the output."""

from __future__ import annotations

import torch

from giffusion_nb.pipelines.tiny_families import (
    TINY_FLUX_TRANSFORMER,
    TINY_SD3_TRANSFORMER,
    TINY_SDXL_UNET,
)
from giffusion_nb.pipelines.tiny_sd import SEED, TINY_UNET

# The conditioning image is embedded down to the latent size: three halvings for a VAE scale
# factor of 8, as in real ControlNets (16, 32, 96, 256 channels there).
_CONDITIONING_CHANNELS = (8, 8, 16, 16)


def build_tiny_controlnet():
    """A ``ControlNetModel`` for ``builtin:tiny-sd`` (the tiny UNet's down half)."""
    return _unet_controlnet(TINY_UNET)


def build_tiny_controlnet_sdxl():
    """A ``ControlNetModel`` for ``builtin:tiny-sdxl`` (with its text-time addition embeds)."""
    return _unet_controlnet(TINY_SDXL_UNET)


def build_tiny_controlnet_sd3():
    """An ``SD3ControlNetModel`` for ``builtin:tiny-sd3``: one joint block per transformer
    block, the control image entering through its own patch embedding."""
    from diffusers import SD3ControlNetModel

    torch.manual_seed(SEED)
    shape = {k: v for k, v in TINY_SD3_TRANSFORMER.items() if k != "num_layers"}
    return _awake(SD3ControlNetModel(**shape, num_layers=1))


def build_tiny_controlnet_flux():
    """A ``FluxControlNetModel`` for ``builtin:tiny-flux``: the control image is VAE-encoded
    and packed like the latents (no hint block), guidance embedding as the transformer."""
    from diffusers import FluxControlNetModel

    torch.manual_seed(SEED)
    return _awake(FluxControlNetModel(**TINY_FLUX_TRANSFORMER))


def _unet_controlnet(unet_config: dict):
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**unet_config)
    controlnet = ControlNetModel.from_unet(
        unet,
        conditioning_embedding_out_channels=_CONDITIONING_CHANNELS,
        load_weights_from_unet=False,
    )
    return _awake(controlnet)


def _awake(controlnet):
    """Give the ControlNet's own layers (control-image embedding, zero-initialised output
    projections) He-normal weights and zero biases: fresh from its constructor a ControlNet adds
    exactly nothing, and PyTorch's default init fades the control image out over the
    embedding's eight convolutions."""
    own_layers = ("controlnet_", "pos_embed_input")
    for name, module in controlnet.named_modules():
        if name.startswith(own_layers) and isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            torch.nn.init.zeros_(module.bias)
    return controlnet


BUILDERS = {
    "tiny-controlnet": ("v1", build_tiny_controlnet),
    "tiny-controlnet-sdxl": ("v1", build_tiny_controlnet_sdxl),
    "tiny-controlnet-sd3": ("v1", build_tiny_controlnet_sd3),
    "tiny-controlnet-flux": ("v1", build_tiny_controlnet_flux),
}
