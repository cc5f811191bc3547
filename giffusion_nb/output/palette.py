"""GIF palettes: a k-means palette per frame, nearest colours, dithering where it would band."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# One of the 256 indices stays free for the transparent pixels of a delta frame.
MAX_COLOURS = 255
# Lloyd iterations refining the palette Pillow starts with, and how many entries may move
# onto badly served colours between two (see kmeans_palette).
KMEANS_ITERATIONS = 3
RELOCATED = 32
# Palettes are trained on a grid of about this many of a frame's pixels (all of a small one).
TRAINING_PIXELS = 16384
# Frames of up to this many pixels are mapped on their exact colours; larger ones by cells of
# CELL_BITS bits a channel when their colours fill more than CELL_LIMIT cells (measured on
# 512 px photographs, 30 000 cells: 0.07 dB less, in 60 % of the time; on smooth frames,
# whose palettes are dense, cells would cost a dB or more: they are mapped exactly).
EXACT_PIXELS = 128 * 128
CELL_BITS = 7
CELL_LIMIT = 16384
# A frame is kept undithered where every DITHER_BLOCK-pixel block's mean colour is within
# BAND_LIMIT levels (per channel) of its source's, or where the source varies by more than
# SMOOTH_LIMIT levels (standard deviation) in the block: beyond the one a smooth area has
# moved onto one palette colour, which shows as a band, and those blocks take Floyd-Steinberg
# pixels; texture and noise do not band, and dithering them only costs PSNR and bytes. On
# photographic frames (256 / 512 px) this gave 39.5 / 38.9 dB against 38.5 / 37.7 dB with
# every block dithered past 1.5 levels, and on the noisy frames of `builtin:tiny-sd` it
# halved the encoder's time (Pillow's dithering is the slow part at 64 px).
DITHER_BLOCK = 8
BAND_LIMIT = 2.0
SMOOTH_LIMIT = 6.0
# Colours are compared with the palette in products of at most this many multiply-adds,
# OpenBLAS's threshold for threads (65536 x 4), so they run on the calling thread: on a busy
# CPU, threads waiting for each other made a 1024 x 255 product 100 times slower.
_PRODUCT_LIMIT = 65536 * 4


@dataclass(frozen=True)
class Colours:
    """The distinct colours of a frame: ``values`` (n, 3) float32, each pixel's index into
    them (``inverse``, flat) and how many pixels have each (``counts``)."""

    values: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray
    shape: tuple[int, int]


@dataclass(frozen=True)
class Quantized:
    """A frame on a palette: ``indices`` (H, W) uint8 into ``palette`` (n, 3) uint8."""

    indices: np.ndarray
    palette: np.ndarray
    dithered: np.ndarray  # (H, W) bool: the pixels taken from the dithered version


def frame_colours(pixels: np.ndarray) -> Colours:
    """The distinct colours of ``(H, W, 3)`` uint8 ``pixels``."""
    flat = pixels.reshape(-1, 3).astype(np.int32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    values, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    colours = np.stack([values >> 16, (values >> 8) & 255, values & 255], axis=1)
    return Colours(
        colours.astype(np.float32),
        inverse.reshape(-1),
        counts.astype(np.float32),
        pixels.shape[:2],
    )


def nearest(colours: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each colour, the index of the nearest palette colour (RGB distance) and the
    squared distance to it."""
    palette = palette.astype(np.float32)
    towards, lengths = -2 * palette.T, np.square(palette).sum(axis=1)
    indices = np.empty(len(colours), dtype=np.intp)
    distances = np.square(colours).sum(axis=1)
    step = max(1, _PRODUCT_LIMIT // (3 * len(palette)))
    scores = np.empty((min(step, len(colours)), len(palette)), dtype=np.float32)
    for start in range(0, len(colours), step):
        rows = colours[start : start + step]
        chunk = scores[: len(rows)]
        np.matmul(rows, towards, out=chunk)
        chunk += lengths  # |c - p|² less |c|², which is the same for every p
        best = chunk.argmin(axis=1)
        indices[start : start + len(rows)] = best
        distances[start : start + len(rows)] += chunk[np.arange(len(rows)), best]
    return indices, np.maximum(distances, 0)


def _reassign(
    colours: np.ndarray,
    palette: np.ndarray,
    moved: np.ndarray,
    indices: np.ndarray,
    distances: np.ndarray,
) -> None:
    """Update ``indices`` and ``distances`` (in place) after the ``moved`` palette entries
    changed: colours that had one look again, the others compare only with them."""
    orphans = np.flatnonzero(moved[indices])
    if orphans.size:
        indices[orphans], distances[orphans] = nearest(colours[orphans], palette)
    entries = np.flatnonzero(moved)
    to_moved, apart = nearest(colours, palette[entries])
    closer = apart < distances
    indices[closer], distances[closer] = entries[to_moved[closer]], apart[closer]


def kmeans_palette(colours: np.ndarray, counts: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``start`` refined by Lloyd's algorithm on the weighted ``colours``.

    In each iteration, after the colours are assigned, up to ``RELOCATED`` entries that
    cost least to lose (their pixels times the squared distance to the nearest other entry;
    an unused one costs nothing) move onto the colours served worst, where that gains more
    than it costs; the others move to the mean of their colours. Lloyd alone keeps entries
    on colours that a flat area shares and never reaches an outlying one.
    """
    palette = start.astype(np.float32)
    size = len(palette)
    indices, distances = nearest(colours, palette)
    for iteration in range(KMEANS_ITERATIONS):
        weights = np.bincount(indices, counts, minlength=size)
        sums = np.stack(
            [np.bincount(indices, counts * colours[:, c], minlength=size) for c in range(3)],
            axis=1,
        )
        used = weights > 0
        palette[used] = sums[used] / weights[used, None]
        if iteration == KMEANS_ITERATIONS - 1:
            break
        indices, distances = nearest(colours, palette)
        weights = np.bincount(indices, counts, minlength=size)
        moved = _relocate(palette, weights, colours, distances * counts)
        if moved.any():
            _reassign(colours, palette, moved, indices, distances)
    return np.clip(np.round(palette), 0, 255).astype(np.uint8)


def _relocate(
    palette: np.ndarray, weights: np.ndarray, colours: np.ndarray, errors: np.ndarray
) -> np.ndarray:
    """Move the cheapest palette entries onto the worst-served colours, in place; returns
    which entries moved."""
    lengths = np.square(palette).sum(axis=1)
    apart = lengths[:, None] + lengths[None, :] - 2 * palette @ palette.T
    np.fill_diagonal(apart, np.inf)
    losses = weights * np.maximum(apart.min(axis=1), 0)
    unused = int((weights == 0).sum())  # they all may move
    count = min(RELOCATED + unused, len(palette), len(colours))
    cheapest = np.argsort(losses)[:count]
    worst = np.argsort(-errors)[:count]
    gains = errors[worst] > losses[cheapest]
    palette[cheapest[gains]] = colours[worst[gains]]
    moved = np.zeros(len(palette), dtype=bool)
    moved[cheapest[gains]] = True
    return moved


def training_stride(shape: tuple[int, int]) -> int:
    """Every how many pixels (down and across) a frame's palette is trained on: all of them up
    to ``TRAINING_PIXELS``, else an even grid of about that many."""
    return max(1, round(math.sqrt(shape[0] * shape[1] / TRAINING_PIXELS)))


def frame_palette(pixels: np.ndarray) -> np.ndarray:
    """A palette of at most ``MAX_COLOURS`` colours for ``(H, W, 3)`` uint8 ``pixels``.

    It is trained on a grid of about ``TRAINING_PIXELS`` of the frame's own pixels (every
    pixel of a small frame, or of one with few colours): their colours when there are no
    more than ``MAX_COLOURS``, else k-means from Pillow's octree palette of them. A grid
    keeps the frame's detail and its extreme colours, which a box-reduced copy averages away.
    """
    stride = training_stride(pixels.shape[:2])
    sample = np.ascontiguousarray(pixels[::stride, ::stride])
    colours = frame_colours(sample)
    if len(colours.values) <= MAX_COLOURS and stride > 1:  # few colours: train on them all
        sample, colours = pixels, frame_colours(pixels)
    if len(colours.values) <= MAX_COLOURS:
        return colours.values.astype(np.uint8)
    octree = Image.fromarray(sample).quantize(colors=MAX_COLOURS, method=Image.Quantize.FASTOCTREE)
    start = np.asarray(octree.getpalette()[: 3 * MAX_COLOURS], dtype=np.float32).reshape(-1, 3)
    if len(start) < MAX_COLOURS:  # Pillow found fewer: the rest start on real colours
        start = np.vstack([start, colours.values[: MAX_COLOURS - len(start)]])
    return kmeans_palette(colours.values, colours.counts, start)


@dataclass(frozen=True)
class Mapping:
    """A frame's pixels each on its nearest colour of ``palette``: ``indices`` (H, W) and,
    per ``DITHER_BLOCK`` block, the largest channel's mean error and the largest channel's
    standard deviation in the source, in levels."""

    palette: np.ndarray
    indices: np.ndarray
    block_errors: np.ndarray
    block_spread: np.ndarray


def nearest_indices(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's nearest ``palette`` colour, as ``(H, W)`` uint8 indices.

    Pixels are mapped colour by colour, except in a large, detailed frame (more than
    ``EXACT_PIXELS`` pixels whose colours fill more than ``CELL_LIMIT`` cells of
    ``CELL_BITS`` bits a channel), where each cell takes the colour nearest to its centre,
    at most half a level from each of its colours: the cells come from a histogram instead
    of a sort, and there are a quarter as many. A smooth frame, whose palette colours lie
    closer together than that, is always mapped exactly.
    """
    if pixels.shape[0] * pixels.shape[1] <= EXACT_PIXELS:
        return _exact_indices(pixels, palette).reshape(pixels.shape[:2])
    shift, bits = 8 - CELL_BITS, CELL_BITS
    cells = pixels >> shift
    packed = (cells[..., 0].astype(np.int32) << 2 * bits) | (cells[..., 1].astype(np.int32) << bits)
    packed |= cells[..., 2]
    used = np.flatnonzero(np.bincount(packed.reshape(-1), minlength=1 << 3 * bits))
    if len(used) <= CELL_LIMIT:
        return _exact_indices(pixels, palette).reshape(pixels.shape[:2])
    mask = (1 << bits) - 1
    centres = np.stack([used >> 2 * bits, (used >> bits) & mask, used & mask], axis=1)
    centres = centres.astype(np.float32) * (1 << shift) + ((1 << shift) - 1) / 2
    lookup = np.zeros(1 << 3 * bits, dtype=np.uint8)
    lookup[used] = nearest(centres, palette)[0]
    return lookup[packed]


def _exact_indices(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The nearest palette colour of each pixel of ``(H, W, 3)`` uint8 ``pixels``, flat."""
    colours = frame_colours(pixels)
    indices, _distances = nearest(colours.values, palette)
    return indices[colours.inverse].astype(np.uint8)


def map_nearest(pixels: np.ndarray, palette: np.ndarray) -> Mapping:
    """``pixels`` (H, W, 3) uint8 on their nearest colours of ``palette``."""
    indices = nearest_indices(pixels, palette)
    source = pixels.astype(np.float32)
    errors = np.abs(_block_means(source - palette[indices])).max(axis=2)
    means = _block_means(source)
    variances = _block_means(np.square(source)) - np.square(means)
    spread = np.sqrt(np.maximum(variances, 0)).max(axis=2)
    return Mapping(palette, indices, errors, spread)


def _block_means(values: np.ndarray) -> np.ndarray:
    """Mean of each ``DITHER_BLOCK`` x ``DITHER_BLOCK`` block of ``(H, W, C)`` values (the
    last row and column of blocks may be smaller)."""
    rows = np.arange(0, values.shape[0], DITHER_BLOCK)
    columns = np.arange(0, values.shape[1], DITHER_BLOCK)
    sums = np.add.reduceat(np.add.reduceat(values, rows, axis=0), columns, axis=1)
    heights = np.diff(np.append(rows, values.shape[0]))
    widths = np.diff(np.append(columns, values.shape[1]))
    return sums / (heights[:, None, None] * widths[None, :, None])


def _dithered(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Floyd-Steinberg indices of ``pixels`` on ``palette``, by Pillow (which pads a palette
    to 256 colours: the padding repeats colour 0, and is mapped back onto it)."""
    padded = np.vstack([palette, np.repeat(palette[:1], 256 - len(palette), axis=0)])
    holder = Image.new("P", (1, 1))
    holder.putpalette(padded.tobytes())
    image = Image.fromarray(pixels)
    indices = np.asarray(image.quantize(palette=holder, dither=Image.Dither.FLOYDSTEINBERG))
    return np.where(indices < len(palette), indices, 0).astype(np.uint8)


def quantize(pixels: np.ndarray, mapping: Mapping) -> Quantized:
    """``pixels`` (H, W, 3) uint8 on ``mapping``'s palette: each pixel's nearest colour,
    except in the smooth blocks (``SMOOTH_LIMIT``) where that would band (``BAND_LIMIT``),
    which are Floyd-Steinberg dithered."""
    banded = (mapping.block_errors > BAND_LIMIT) & (mapping.block_spread <= SMOOTH_LIMIT)
    if not banded.any():
        return Quantized(mapping.indices, mapping.palette, np.zeros(mapping.indices.shape, bool))
    mask = np.repeat(np.repeat(banded, DITHER_BLOCK, axis=0), DITHER_BLOCK, axis=1)
    mask = mask[: mapping.indices.shape[0], : mapping.indices.shape[1]]
    indices = np.where(mask, _dithered(pixels, mapping.palette), mapping.indices)
    return Quantized(indices, mapping.palette, mask)


def quantize_frame(pixels: np.ndarray) -> Quantized:
    """A frame on a palette of its own (``frame_palette``), nearest colours, dithered where it
    would band. It needs no other frame, so the writer's processes quantize frames in
    parallel; the order only matters to the delta frames (``GifEncoder``)."""
    return quantize(pixels, map_nearest(pixels, frame_palette(pixels)))
