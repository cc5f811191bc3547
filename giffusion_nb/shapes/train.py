"""Train the shapes model from a seed: first the VAE, then the UNet with the text encoder.

    python -m giffusion_nb.shapes.train OUT_FOLDER [--device cuda] [--unet-steps N] ...

Stage 1 trains the AutoencoderKL to reconstruct shape pictures (MSE plus a small KL term).
Stage 2 freezes it, sets its ``scaling_factor`` so latents have unit variance, and trains the
UNet and the CLIP text encoder together with the usual noise-prediction loss. Captions are
dropped (replaced by "") 10 % of the time, so classifier-free guidance works. Sampling uses an
exponential moving average of the weights. The result is saved with ``save_pretrained`` as a
standard StableDiffusionPipeline.
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
    batch_size: int = 32
    unet_channels: str = ",".join(map(str, models.UNET_CHANNELS))
    unet_steps: int = 4000
    unet_lr: float = 6e-4
    warmup_steps: int = 200
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
    vae = models.build_vae().to(device)
    channels = tuple(int(count) for count in config.unet_channels.split(","))
    unet = models.build_unet(channels).to(device)
    text_encoder = models.build_text_encoder(
        len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    ).to(device)

    data = torch.Generator().manual_seed(config.seed)
    noise = torch.Generator(device).manual_seed(config.seed + 1)
    vae_report = train_vae(vae, config, data, noise)
    scale = latent_scale(vae, config, data)
    vae.register_to_config(scaling_factor=scale)
    ema_unet, ema_text, unet_report = train_unet(
        unet, text_encoder, vae, tokenizer, config, data, noise
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


@torch.no_grad()
def latent_scale(vae, config: TrainConfig, data: torch.Generator, batches: int = 8) -> float:
    """1 / std of the VAE's latents, Stable Diffusion's ``scaling_factor``."""
    samples = []
    for _ in range(batches):
        posterior = vae.encode(_pictures(config, data)).latent_dist
        samples.append(posterior.mean.flatten())
    return float(1.0 / torch.cat(samples).std())


def train_unet(unet, text_encoder, vae, tokenizer, config: TrainConfig, data, noise):
    """Stage 2: predict the noise added to latents, conditioned on the caption."""
    scheduler = models.training_scheduler()
    parameters = [*unet.parameters(), *text_encoder.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.unet_lr, weight_decay=1e-2)
    ema_unet = copy.deepcopy(unet).requires_grad_(False)
    ema_text = copy.deepcopy(text_encoder).requires_grad_(False)
    token_cache: dict[str, list[int]] = {}
    unet.train()
    text_encoder.train()

    def step(index: int, total: int) -> float:
        _set_lr(optimizer, config.unet_lr, index, config.warmup_steps, total)
        batch = sample_batch(config.batch_size, data, device=config.device)
        drop = torch.rand(config.batch_size, generator=data) < config.caption_dropout
        captions = [
            "" if dropped else text for dropped, text in zip(drop, batch.captions, strict=True)
        ]
        input_ids = _token_ids(tokenizer, captions, token_cache).to(config.device)
        with torch.no_grad():
            posterior = vae.encode(batch.images * 2 - 1).latent_dist
            latents = posterior.mean * vae.config.scaling_factor
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
        loss = F.mse_loss(unet(noisy, timesteps, context).sample, added)
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
