"""Coloured-shape pictures and their captions, drawn with torch from a seed.

Every picture is one shape (circle, square, triangle, ring, star) in one named colour, of random
size and position, on a plain black, white or gray background. Shapes are drawn from signed
distances, so their edges are anti-aliased and the same parameters give the same pixels on the
CPU and on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from giffusion_nb.keyframes.shape_words import BACKGROUNDS, COLOURS, SHAPES, caption

# Black is the background a caption without one implies.
BACKGROUND_WEIGHTS = (0.7, 0.15, 0.15)

# Radius range in pixels of a 64 px picture (scaled with the picture size).
MIN_RADIUS, MAX_RADIUS = 9.0, 22.0
SMALL_BELOW, LARGE_ABOVE = 12.5, 18.5
COLOUR_JITTER = 10.0
STAR_INNER = 0.45
TRIANGLE_SCALE = 1.15
SQUARE_SCALE = 0.85


@dataclass(frozen=True)
class ShapeBatch:
    """Pictures ``(B, 3, H, W)`` in [0, 1] with what each one shows."""

    images: torch.Tensor
    captions: list[str]
    shapes: list[str]
    colours: list[str]
    backgrounds: list[str]


def sample_batch(
    batch_size: int,
    generator: torch.Generator,
    *,
    image_size: int = 64,
    device: torch.device | str = "cpu",
) -> ShapeBatch:
    """``batch_size`` random pictures and captions; the CPU ``generator`` decides everything."""
    shape_ids = torch.randint(len(SHAPES), (batch_size,), generator=generator)
    colour_ids = torch.randint(len(COLOURS), (batch_size,), generator=generator)
    background_ids = torch.multinomial(
        torch.tensor(BACKGROUND_WEIGHTS), batch_size, replacement=True, generator=generator
    )
    radius = MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * torch.rand(batch_size, generator=generator)
    margin = radius * TRIANGLE_SCALE + 1.0
    centre = margin[:, None] + (64.0 - 2 * margin[:, None]) * torch.rand(
        batch_size, 2, generator=generator
    )
    jitter = COLOUR_JITTER * torch.randn(batch_size, 3, generator=generator)
    name_size = torch.rand(batch_size, generator=generator)
    name_background = torch.rand(batch_size, generator=generator)

    colour_names, background_names = list(COLOURS), list(BACKGROUNDS)
    rgb = torch.tensor([COLOURS[name] for name in colour_names], dtype=torch.float32)
    background_rgb = torch.tensor([BACKGROUNDS[name] for name in background_names])
    scale = image_size / 64.0
    images = draw(
        shape_ids.to(device),
        ((rgb[colour_ids] + jitter).clamp(0, 255) / 255).to(device),
        (radius * scale).to(device),
        (centre * scale).to(device),
        (background_rgb[background_ids].float() / 255).to(device),
        image_size=image_size,
    )

    captions, shapes, colours, backgrounds = [], [], [], []
    for i in range(batch_size):
        shape, colour = SHAPES[shape_ids[i]], colour_names[colour_ids[i]]
        background = background_names[background_ids[i]]
        size_word = _size_word(float(radius[i])) if name_size[i] < 0.7 else ""
        # Black is implied; it is named only in some captions, the others always.
        named = background != "black" or name_background[i] < 0.4
        captions.append(
            caption(shape, colour, size_word=size_word, background=background if named else "")
        )
        shapes.append(shape)
        colours.append(colour)
        backgrounds.append(background)
    return ShapeBatch(images, captions, shapes, colours, backgrounds)


def _size_word(radius: float) -> str:
    if radius < SMALL_BELOW:
        return "small"
    return "large" if radius > LARGE_ABOVE else ""


def draw(
    shape_ids: torch.Tensor,
    colours: torch.Tensor,
    radius: torch.Tensor,
    centre: torch.Tensor,
    backgrounds: torch.Tensor,
    *,
    image_size: int,
) -> torch.Tensor:
    """Pictures ``(B, 3, S, S)``: shape ``SHAPES[shape_ids[i]]`` of ``radius[i]`` pixels at
    ``centre[i]`` (x, y), colours and backgrounds as RGB in [0, 1]."""
    coords = torch.arange(image_size, device=radius.device, dtype=torch.float32) + 0.5
    dx = coords[None, None, :] - centre[:, 0, None, None]
    dy = coords[None, :, None] - centre[:, 1, None, None]
    r = radius[:, None, None]
    distances = torch.stack(
        [
            _circle(dx, dy, r),
            _square(dx, dy, r),
            _triangle(dx, dy, r),
            _ring(dx, dy, r),
            _star(dx, dy, r),
        ]
    )
    distance = distances.gather(0, shape_ids[None, :, None, None].expand_as(distances[:1]))[0]
    alpha = (0.5 - distance).clamp(0, 1)[:, None]
    return backgrounds[:, :, None, None] * (1 - alpha) + colours[:, :, None, None] * alpha


# Signed distances in pixels (negative inside), with the shape centred on (0, 0).
def _circle(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(dx**2 + dy**2) - r


def _square(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.maximum(dx.abs(), dy.abs()) - SQUARE_SCALE * r


def _ring(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return (torch.sqrt(dx**2 + dy**2) - 0.72 * r).abs() - 0.28 * r


def _triangle(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """An equilateral triangle pointing up, its bounding box centred on the origin."""
    size = TRIANGLE_SCALE * r
    y = dy - 0.25 * size  # the centroid sits a quarter of the circumradius below the box centre
    edges = [(0.0, 1.0), (math.sqrt(3) / 2, -0.5), (-math.sqrt(3) / 2, -0.5)]
    inside = torch.stack([nx * dx + ny * y for nx, ny in edges]).amax(0)
    return inside - 0.5 * size


def _star(dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """A five-pointed star, one point up: the distance to the edge of the folded wedge."""
    wedge = 2 * math.pi / 5
    angle = torch.atan2(dx, -dy) % wedge
    beta = (angle - wedge / 2).abs()  # 0 towards an inner corner, wedge/2 towards a point
    rho = torch.sqrt(dx**2 + dy**2)
    px, py = rho * torch.cos(beta), rho * torch.sin(beta)
    inner_x = STAR_INNER * r
    outer_x, outer_y = r * math.cos(wedge / 2), r * math.sin(wedge / 2)
    ex, ey = outer_x - inner_x, outer_y  # edge from the inner corner to the point
    length = torch.sqrt(ex**2 + ey**2)
    nx, ny = ey / length, -ex / length  # the edge's normal pointing away from the centre
    return nx * (px - inner_x) + ny * py


def save_examples(folder: Path, count: int, seed: int = 0, image_size: int = 64) -> list[Path]:
    """Write ``count`` example pictures as PNGs and their captions to ``captions.txt``."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    batch = sample_batch(count, torch.Generator().manual_seed(seed), image_size=image_size)
    pixels = (batch.images * 255).round().byte().permute(0, 2, 3, 1).numpy()
    paths, lines = [], []
    for i, (array, text) in enumerate(zip(pixels, batch.captions, strict=True)):
        path = folder / f"shape_{i:04d}.png"
        Image.fromarray(array).save(path)
        paths.append(path)
        lines.append(f"{path.name}\t{text}")
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    return paths
