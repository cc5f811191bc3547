"""Train the shapes model from a seed: first the VAE, then the UNet with the text encoder.

    python -m giffusion_nb.shapes.train OUT_FOLDER [--device cuda] [--unet-steps N] ...

Stage 1 trains the AutoencoderKL to reconstruct shape pictures (MSE plus a small KL term), or
takes the VAE of an earlier run (``--vae FOLDER``). Stage 2 freezes it, encodes a fixed set of
pictures once (``--cache-size``), sets the VAE's ``scaling_factor`` so their latents have unit
variance, and trains the UNet and the CLIP text encoder together with the usual noise-prediction
loss, weighted by min-SNR (``--snr-gamma``) so the noisy steps that decide colour and layout are
not drowned by the easy ones. Captions are dropped (replaced by "") 10 % of the time, so
classifier-free guidance works. Sampling uses an exponential moving average of the weights. The
result is saved with ``save_pretrained`` as a standard StableDiffusionPipeline.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from giffusion_nb.shapes import models
from giffusion_nb.shapes.dataset import sample_batch


@dataclass
class TrainConfig:
    """Everything that decides the trained weights (with the device's arithmetic)."""

    seed: int = 0
    device: str = "cpu"
    vae_batch_size: int = 16
    vae_steps: int = 1500
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    vae: str = ""  # a trained pipeline folder whose VAE to reuse (skips stage 1)
    cache_size: int = 20000
    batch_size: int = 32
    unet_channels: str = ",".join(map(str, models.UNET_CHANNELS))
    unet_steps: int = 6000
    unet_lr: float = 1e-3
    warmup_steps: int = 100
    snr_gamma: float = 5.0
    caption_dropout: float = 0.1
    ema_decay: float = 0.999
    # Time budgets in minutes (0 = none): a stage's step count is cut to what fits, and
    # the count reached is saved in training.json.
    vae_minutes: float = 0.0
    unet_minutes: float = 0.0


def train(config: TrainConfig, out: Path, *, fp16: bool = True) -> Path:
    """Train both stages and save the pipeline to ``out``; returns ``out``."""
    device = torch.device(config.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(config.seed)  # weight initialisation
    tokenizer = models.build_tokenizer()
    channels = tuple(int(count) for count in config.unet_channels.split(","))
    unet = models.build_unet(channels).to(device)
    text_encoder = models.build_text_encoder(
        len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    ).to(device)

    data = torch.Generator().manual_seed(config.seed)
    noise = torch.Generator(device).manual_seed(config.seed + 1)
    if config.vae:
        vae, vae_report = reuse_vae(Path(config.vae), device)
    else:
        vae = models.build_vae().to(device)
        vae_report = train_vae(vae, config, data, noise)
    cache = encode_pictures(vae, config, data)
    scale = cache.scaling_factor
    vae.register_to_config(scaling_factor=scale)
    ema_unet, ema_text, unet_report = train_unet(
        unet, text_encoder, tokenizer, cache, config, noise
    )

    pipe = models.assemble_pipeline(vae, ema_unet, ema_text, tokenizer).to("cpu")
    if fp16:
        pipe.to(torch.float16)
    out = Path(out)
    pipe.save_pretrained(out, safe_serialization=True)
    report = {"config": asdict(config), "scaling_factor": scale, **vae_report, **unet_report}
    (out / "training.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "README.md").write_text(model_card(report))
    return out


def model_card(report: dict) -> str:
    """A short model card: what the model is, and how it was trained (from ``report``)."""
    config = report["config"]
    options = " ".join(
        f"--{name.replace('_', '-')} {value}"
        for name, value in config.items()
        if value != getattr(TrainConfig, name)
    )
    return f"""# A giffusion_nb shapes model

A small Stable Diffusion pipeline (`StableDiffusionPipeline`) trained by giffusion_nb on
pictures of coloured shapes drawn by `giffusion_nb/shapes/dataset.py`: six colours, five shapes,
`small`/`large`, black, white or gray backgrounds, 64 px. Weights are fp16 safetensors; load them
with `from_pretrained`, or render with `giffusion-nb render --set model_id=THIS_FOLDER`.

Trained with `python -m giffusion_nb.shapes.train OUT {options}`:
VAE {report["vae_steps_done"]} steps (final loss {report["vae_final_loss"]:.4f}), then UNet and
text encoder {report["unet_steps_done"]} steps (final loss {report["unet_final_loss"]:.4f}),
VAE scaling factor {report["scaling_factor"]:.4f}. Every figure is in `training.json`.
Score it with `giffusion-nb eval-shapes --model THIS_FOLDER`.
"""


def reuse_vae(folder: Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """The VAE of an earlier run saved in ``folder``, with that run's VAE figures."""
    from diffusers import AutoencoderKL

    from giffusion_nb.errors import SettingsError

    if not (folder / "training.json").is_file():
        raise SettingsError("vae", f"{folder} was not saved by this script (no training.json)")
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float32)
    earlier = json.loads((folder / "training.json").read_text())
    report = {key: earlier[key] for key in ("vae_steps_done", "vae_final_loss")}
    return vae.to(device).eval().requires_grad_(False), report


def train_vae(vae, config: TrainConfig, data: torch.Generator, noise: torch.Generator) -> dict:
    """Stage 1: reconstruct pictures through the 16 x 16 x 4 latent."""
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.vae_lr, weight_decay=0.0)
    vae.train()
    losses, steps = _run_steps(
        "vae",
        config.vae_steps,
        config.vae_minutes,
        lambda index, total: _vae_step(vae, optimizer, config, data, noise, index, total),
    )
    vae.eval().requires_grad_(False)
    return {"vae_steps_done": steps, "vae_final_loss": _tail_mean(losses)}


def _vae_step(vae, optimizer, config, data, noise, index: int, total: int) -> float:
    _set_lr(optimizer, config.vae_lr, index, config.warmup_steps, total)
    images = _pictures(config, data)
    posterior = vae.encode(images).latent_dist
    reconstruction = vae.decode(posterior.sample(generator=noise)).sample
    loss = F.mse_loss(reconstruction, images) + config.kl_weight * posterior.kl().mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
    optimizer.step()
    return loss.item()


@dataclass
class LatentCache:
    """Pictures encoded once: scaled latents ``(N, 4, 16, 16)`` and their captions."""

    latents: torch.Tensor
    captions: list[str]
    scaling_factor: float


@torch.no_grad()
def encode_pictures(vae, config: TrainConfig, data: torch.Generator, chunk: int = 256):
    """Draw ``config.cache_size`` pictures, encode them (posterior means) and scale them to unit
    variance, Stable Diffusion's ``scaling_factor``."""
    latents, captions = [], []
    for start in tqdm(range(0, config.cache_size, chunk), desc="encode pictures", mininterval=5):
        batch = sample_batch(min(chunk, config.cache_size - start), data, device=config.device)
        latents.append(vae.encode(batch.images * 2 - 1).latent_dist.mean)
        captions.extend(batch.captions)
    stacked = torch.cat(latents)
    scale = float(1.0 / stacked.std())
    return LatentCache(stacked * scale, captions, scale)


def train_unet(unet, text_encoder, tokenizer, cache: LatentCache, config: TrainConfig, noise):
    """Stage 2: predict the noise added to cached latents, conditioned on the caption."""
    scheduler = models.training_scheduler()
    weights = min_snr_weights(scheduler, config.snr_gamma).to(config.device)
    parameters = [*unet.parameters(), *text_encoder.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.unet_lr, weight_decay=1e-2)
    ema_unet = copy.deepcopy(unet).requires_grad_(False)
    ema_text = copy.deepcopy(text_encoder).requires_grad_(False)
    token_cache: dict[str, list[int]] = {}
    picker = torch.Generator().manual_seed(config.seed + 2)
    unet.train()
    text_encoder.train()

    def step(index: int, total: int) -> float:
        _set_lr(optimizer, config.unet_lr, index, config.warmup_steps, total)
        picked = torch.randint(len(cache.captions), (config.batch_size,), generator=picker)
        drop = torch.rand(config.batch_size, generator=picker) < config.caption_dropout
        captions = [
            "" if dropped else cache.captions[i] for dropped, i in zip(drop, picked, strict=True)
        ]
        input_ids = _token_ids(tokenizer, captions, token_cache).to(config.device)
        latents = cache.latents[picked.to(cache.latents.device)]
        added = torch.randn(latents.shape, generator=noise, device=latents.device)
        timesteps = torch.randint(
            0,
            scheduler.config.num_train_timesteps,
            (latents.shape[0],),
            generator=noise,
            device=latents.device,
        )
        noisy = scheduler.add_noise(latents, added, timesteps)
        context = text_encoder(input_ids)[0]
        prediction = unet(noisy, timesteps, context).sample
        errors = F.mse_loss(prediction, added, reduction="none").mean(dim=(1, 2, 3))
        loss = (weights[timesteps] * errors).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        decay = min(config.ema_decay, (1 + index) / (10 + index))
        _update_ema(ema_unet, unet, decay)
        _update_ema(ema_text, text_encoder, decay)
        return loss.item()

    losses, steps = _run_steps("unet", config.unet_steps, config.unet_minutes, step)
    return (
        ema_unet.eval(),
        ema_text.eval(),
        {
            "unet_steps_done": steps,
            "unet_final_loss": _tail_mean(losses),
        },
    )


def min_snr_weights(scheduler, gamma: float) -> torch.Tensor:
    """Per-timestep loss weights ``min(SNR, gamma) / SNR`` for noise prediction (Hang et al.,
    "Efficient Diffusion Training via Min-SNR Weighting Strategy", 2023)."""
    snr = scheduler.alphas_cumprod / (1 - scheduler.alphas_cumprod)
    return snr.clamp(max=gamma) / snr


def _pictures(config: TrainConfig, data: torch.Generator) -> torch.Tensor:
    """A batch of pictures in [-1, 1], as the VAE sees them."""
    return sample_batch(config.vae_batch_size, data, device=config.device).images * 2 - 1


def _token_ids(tokenizer, captions: list[str], cache: dict[str, list[int]]) -> torch.Tensor:
    for text in captions:
        if text not in cache:
            cache[text] = tokenizer(
                text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True
            ).input_ids
    return torch.tensor([cache[text] for text in captions])


@torch.no_grad()
def _update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        averaged.lerp_(current, 1 - decay)


def _set_lr(optimizer, peak: float, step: int, warmup: int, total: int) -> None:
    """Linear warm-up, then cosine decay to a tenth of ``peak``."""
    if step < warmup:
        lr = peak * (step + 1) / warmup
    else:
        progress = (step - warmup) / max(1, total - warmup)
        lr = peak * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))
    for group in optimizer.param_groups:
        group["lr"] = lr


def _run_steps(name: str, total: int, minutes: float, step) -> tuple[list[float], int]:
    """Call ``step(index, total)`` under a progress bar.

    With a time budget, ``total`` is re-fitted every 50 steps to what the remaining minutes
    allow at the speed of the last 50, never above the steps asked for (the learning-rate
    schedule follows it), so the stage ends on time when the machine gets busier or quieter.
    """
    asked = total
    losses: list[float] = []
    start = time.monotonic()
    bar = tqdm(total=total, desc=f"train {name}", mininterval=5)
    index, window_start = 0, start
    while index < total:
        losses.append(step(index, total))
        index += 1
        bar.update()
        if index % 50 == 0:
            bar.set_postfix(loss=f"{_tail_mean(losses):.4f}")
            now = time.monotonic()
            if minutes:
                per_step = (now - window_start) / 50
                fits = index + int((60 * minutes - (now - start)) / per_step)
                total = max(index, min(asked, fits))
                bar.total = total
            window_start = now
    bar.close()
    print(f"{name}: {index} steps in {(time.monotonic() - start) / 60:.1f} min")
    return losses, len(losses)


def _tail_mean(values: list[float], count: int = 100) -> float:
    tail = values[-count:]
    return sum(tail) / max(1, len(tail))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m giffusion_nb.shapes.train OUT [options]``."""
    parser = argparse.ArgumentParser(
        description="Train a Stable Diffusion pipeline on coloured shapes."
    )
    parser.add_argument("out", type=Path, help="folder to save the pipeline in")
    defaults = TrainConfig()
    for field, value in asdict(defaults).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--fp32", action="store_true", help="save fp32 weights (default fp16)")
    args = vars(parser.parse_args(argv))
    out, fp32 = args.pop("out"), args.pop("fp32")
    path = train(TrainConfig(**args), out, fp16=not fp32)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
