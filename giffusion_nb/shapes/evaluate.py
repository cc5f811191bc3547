"""Score a shapes model: colour and shape accuracy per prompt, and the colour track of a travel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from giffusion_nb.errors import SettingsError
from giffusion_nb.shapes.classify import classify_shape, colour_shares, dominant_colour
from giffusion_nb.shapes.dataset import COLOURS, SHAPES

if TYPE_CHECKING:
    from diffusers import StableDiffusionPipeline

# (prompt, colour, shape)
Prompt = tuple[str, str, str]


@dataclass(frozen=True)
class PromptScore:
    """What the classifier saw in each sample of one prompt."""

    prompt: str
    colour: str
    shape: str
    seen_colours: list[str | None]
    seen_shapes: list[str | None]

    @property
    def count(self) -> int:
        return len(self.seen_shapes)

    @property
    def colour_hits(self) -> int:
        return sum(seen == self.colour for seen in self.seen_colours)

    @property
    def shape_hits(self) -> int:
        return sum(seen == self.shape for seen in self.seen_shapes)


@dataclass(frozen=True)
class ShapesReport:
    """Per-prompt scores and the overall colour and shape accuracy (fractions)."""

    scores: list[PromptScore]

    @property
    def count(self) -> int:
        return sum(score.count for score in self.scores)

    @property
    def colour_hits(self) -> int:
        return sum(score.colour_hits for score in self.scores)

    @property
    def shape_hits(self) -> int:
        return sum(score.shape_hits for score in self.scores)

    @property
    def colour_accuracy(self) -> float:
        return self.colour_hits / self.count if self.count else 0.0

    @property
    def shape_accuracy(self) -> float:
        return self.shape_hits / self.count if self.count else 0.0


def shape_prompts() -> list[Prompt]:
    """``("a red circle", "red", "circle")`` for every colour and shape."""
    return [(f"a {colour} {shape}", colour, shape) for colour in COLOURS for shape in SHAPES]


def render_samples(
    pipe: StableDiffusionPipeline,
    prompts: Sequence[Prompt],
    *,
    samples: int = 8,
    steps: int = 25,
    guidance: float = 5.0,
    seed: int = 0,
    size: int = 64,
    batch_size: int = 16,
    progress: bool = True,
) -> np.ndarray:
    """Pictures ``(prompts, samples, size, size, 3)`` in [0, 1] from ``pipe``.

    Sample ``k`` of every prompt starts from its own CPU generator seeded ``seed + k``, so the
    pictures do not depend on ``batch_size``; one progress bar counts finished prompts.
    """
    # 1. Check inputs
    for name, value in (("samples", samples), ("batch_size", batch_size)):
        if value < 1:
            raise SettingsError(name, f"expected at least 1, got {value}")
    # 2. Plan: every (prompt, sample) pair, in batches
    jobs = [(index, k) for index in range(len(prompts)) for k in range(samples)]
    images = np.zeros((len(prompts), samples, size, size, 3), dtype=np.float32)
    pipe.set_progress_bar_config(disable=True)
    # 3. Render
    with tqdm(total=len(prompts), desc="evaluate", unit="prompt", disable=not progress) as bar:
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            output = pipe(
                prompt=[prompts[index][0] for index, _ in batch],
                num_inference_steps=steps,
                guidance_scale=guidance,
                height=size,
                width=size,
                generator=[torch.Generator(device="cpu").manual_seed(seed + k) for _, k in batch],
                output_type="np",
            )
            for (index, k), picture in zip(batch, output.images, strict=True):
                images[index, k] = picture
            bar.update((start + len(batch)) // samples - start // samples)
    return images


def score_images(prompts: Sequence[Prompt], images: np.ndarray) -> ShapesReport:
    """Classify pictures ``(prompts, samples, H, W, 3)`` against their prompts' colour and shape."""
    scores = [
        PromptScore(
            prompt,
            colour,
            shape,
            [dominant_colour(picture) for picture in pictures],
            [classify_shape(picture) for picture in pictures],
        )
        for (prompt, colour, shape), pictures in zip(prompts, images, strict=True)
    ]
    return ShapesReport(scores)


def evaluate_model(
    pipe: StableDiffusionPipeline,
    *,
    prompts: Sequence[Prompt] | None = None,
    samples: int = 8,
    steps: int = 25,
    guidance: float = 5.0,
    seed: int = 0,
    size: int = 64,
    batch_size: int = 16,
    progress: bool = True,
) -> ShapesReport:
    """Render ``samples`` pictures of every prompt (default: ``shape_prompts()``) with the
    diffusers pipeline ``pipe`` and score what the classifier sees in them."""
    prompts = shape_prompts() if prompts is None else list(prompts)
    images = render_samples(
        pipe,
        prompts,
        samples=samples,
        steps=steps,
        guidance=guidance,
        seed=seed,
        size=size,
        batch_size=batch_size,
        progress=progress,
    )
    return score_images(prompts, images)


def colour_track(frames: Sequence[np.ndarray | Image.Image], colour: str) -> list[float]:
    """The share of ``colour`` in each frame (see ``colour_shares``)."""
    if colour not in COLOURS:
        raise SettingsError("colour", f"expected one of {', '.join(COLOURS)}, got {colour!r}")
    return [
        colour_shares(frame.convert("RGB") if isinstance(frame, Image.Image) else frame)[colour]
        for frame in frames
    ]


def _percent(hits: int, count: int) -> str:
    return f"{100 * hits / count if count else 0.0:.1f} % ({hits}/{count})"


def format_report(report: ShapesReport) -> str:
    """A table with one line per prompt (colour and shape hits), then both overall accuracies."""
    width = max([len("prompt"), *(len(score.prompt) for score in report.scores)])
    lines = [f"{'prompt':<{width}}  {'colour':>7}  {'shape':>7}"]
    for score in report.scores:
        colour = f"{score.colour_hits}/{score.count}"
        shape = f"{score.shape_hits}/{score.count}"
        lines.append(f"{score.prompt:<{width}}  {colour:>7}  {shape:>7}")
    lines.append(f"colour accuracy {_percent(report.colour_hits, report.count)}")
    lines.append(f"shape accuracy {_percent(report.shape_hits, report.count)}")
    return "\n".join(lines)


def format_track(shares: Sequence[float], colour: str) -> str:
    """Two lines: the share of ``colour`` in every frame in percent, then first, last and range."""
    if not shares:
        return f"{colour} per frame (%): no frames"
    values = " ".join(f"{100 * share:.1f}" for share in shares)
    return (
        f"{colour} per frame (%): {values}\n"
        f"first {100 * shares[0]:.1f} %, last {100 * shares[-1]:.1f} %, "
        f"min {100 * min(shares):.1f} %, max {100 * max(shares):.1f} %"
    )


TRAVEL = "0: a red circle\n24: a blue square"


def travel_frames(
    pipe: StableDiffusionPipeline,
    model_id: str,
    prompts: str = TRAVEL,
    *,
    steps: int = 25,
    guidance: float = 5.0,
    seed: int = 0,
    batch_size: int = 4,
) -> list[Image.Image]:
    """Every frame of a travel between key-framed ``prompts``, rendered by the render session
    (slerped noise and prompt embeddings) with the already loaded ``pipe``."""
    from giffusion_nb.render.session import RenderSession

    session = RenderSession(
        pipeline=pipe,
        device=pipe.device,
        model_id=model_id,
        prompts=prompts,
        num_inference_steps=steps,
        guidance_scale=guidance,
        seed=seed,
        batch_size=batch_size,
        height=64,
        width=64,
    )
    return [frame.image for frame in session.render_frames()]


def travel_colours(prompts: str) -> tuple[str, str]:
    """The named colours of the first and last key frames of ``prompts`` (for the track)."""
    from giffusion_nb.keyframes.prompts import parse_prompts

    key_frames = parse_prompts(prompts)
    found = []
    for key_frame in (key_frames[0], key_frames[-1]):
        words = key_frame.prompt.lower().split()
        colour = next((word for word in words if word in COLOURS), None)
        if colour is None:
            raise SettingsError(
                "prompts",
                f"key frame {key_frame.frame} names no colour; expected one of "
                + ", ".join(COLOURS),
            )
        found.append(colour)
    return found[0], found[1]
