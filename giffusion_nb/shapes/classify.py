"""Name the colour and the shape in a rendered picture.

Plain numpy on one RGB picture ``(H, W, 3)``, uint8 or float in [0, 1] (a PIL image works too).
The background is the median border colour; the foreground is what differs clearly from it; the
colour is a vote of the saturated pixels' hues between the hues of ``COLOURS``; the shape follows
from a few geometric features of the largest foreground blob (hole, box fill, widest row,
solidity).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from giffusion_nb.shapes.dataset import COLOURS

# Foreground: farther from the background than this share of the typical shape colour's distance
# (0.5 puts the edge where the anti-aliased coverage is one half), and never closer than MIN_FG.
EDGE_SHARE = 0.5
MIN_FG = 0.15
# Pixels counting for colour: saturation (max - min) / max and value max above these.
MIN_SATURATION, MIN_VALUE = 0.3, 0.15
# Shape thresholds, measured with shape_features on 600 dataset pictures, clean and with noise
# (2x down/up-sampled plus Gaussian noise of std 0.04), as "clean range / noisy range":
#   hole      ring 0.18-0.21 / 0.17-0.21 (ideal 0.24); the others 0
#   fill      square 0.98-1 / 0.90-1; circle 0.75-0.85 / 0.74-0.83; star, triangle below 0.65
#   widest    triangle 0.89-0.99 / 0.86-0.97; star 0.36-0.44; circle 0.47-0.55; square any
#   solidity  star 0.60-0.70 / 0.64-0.82 (ideal 0.56); circle 0.93-0.97
MIN_AREA = 4
MIN_HOLE = 0.06
MIN_SQUARE_FILL = 0.875
MIN_TRIANGLE_WIDEST = 0.7
MAX_STAR_SOLIDITY = 0.88


def _as_float(pixels: npt.ArrayLike) -> np.ndarray:
    array = np.asarray(pixels)
    if array.dtype == np.uint8:
        return array[..., :3].astype(np.float32) / 255
    return array[..., :3].astype(np.float32)


def _hue_saturation_value(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value of float RGB ``(..., 3)``."""
    high, low = rgb.max(-1), rgb.min(-1)
    spread = np.where(high > low, high - low, 1.0)
    r, g, b = np.moveaxis(rgb, -1, 0)
    hue = np.select(
        [high == r, high == g],
        [(g - b) / spread % 6, (b - r) / spread + 2],
        (r - g) / spread + 4,
    )
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    return 60.0 * hue % 360, saturation, high


_NAMES = list(COLOURS)
_NAMED_HUES = _hue_saturation_value(np.array([COLOURS[n] for n in _NAMES], np.float32) / 255)[0]


def _nearest_colour(hue: np.ndarray) -> np.ndarray:
    """Index into ``COLOURS`` of the named hue nearest to each hue (around the circle)."""
    gap = np.abs(hue[..., None] - _NAMED_HUES)
    return np.minimum(gap, 360 - gap).argmin(-1)


def background_colour(pixels: npt.ArrayLike) -> np.ndarray:
    """The background as float RGB: the median of the border pixels."""
    rgb = _as_float(pixels)
    border = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]])
    return np.median(border, axis=0)


def foreground_mask(pixels: npt.ArrayLike) -> np.ndarray:
    """Boolean ``(H, W)``: the largest blob of pixels clearly unlike the background.

    The colour distance to the background is smoothed by a 1-2-1 kernel, so that noise does not
    fray the edges, and cut at half the typical distance of the shape's pixels."""
    rgb = _as_float(pixels)
    distance = np.linalg.norm(rgb - background_colour(rgb), axis=-1)
    candidates = distance > MIN_FG
    if not candidates.any():
        return candidates
    typical = np.percentile(distance[candidates], 90)
    labels = _label(_smooth(distance) > max(EDGE_SHARE * typical, MIN_FG))
    if labels.max() < 0:
        return labels >= 0
    return labels == np.bincount(labels[labels >= 0]).argmax()


def _smooth(values: np.ndarray) -> np.ndarray:
    """``values`` blurred by the separable kernel (1, 2, 1) / 4, edges repeated."""
    padded = np.pad(values, 1, mode="edge")
    rows = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) / 4


def _label(mask: np.ndarray) -> np.ndarray:
    """4-connected components of ``mask`` numbered 0, 1, ...; -1 outside the mask.

    Every pixel starts with its own index and takes its neighbours' smallest label until nothing
    changes; looking labels up as indices (pointer jumping) makes that take few rounds."""
    outside = mask.size
    labels = np.where(mask, np.arange(mask.size).reshape(mask.shape), outside)
    while True:
        padded = np.pad(labels, 1, constant_values=outside)
        nearest = np.minimum.reduce(
            [labels, padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]
        )
        jumped = np.where(mask, np.append(nearest.ravel(), outside)[nearest], outside)
        if np.array_equal(jumped, labels):
            break
        labels = jumped
    numbers = np.unique(labels, return_inverse=True)[1].reshape(mask.shape)
    return np.where(mask, numbers, -1)


def _colour_votes(rgb: np.ndarray) -> np.ndarray:
    """Per pixel: the index of its nearest named colour, or -1 where it is too dull to tell."""
    hue, saturation, value = _hue_saturation_value(rgb)
    vivid = (saturation > MIN_SATURATION) & (value > MIN_VALUE)
    return np.where(vivid, _nearest_colour(hue), -1)


def dominant_colour(pixels: npt.ArrayLike) -> str | None:
    """The named colour most saturated foreground pixels are nearest to in hue (a hue histogram
    with one bin per name); None without a saturated foreground."""
    rgb = _as_float(pixels)
    votes = _colour_votes(rgb)[foreground_mask(rgb)]
    votes = votes[votes >= 0]
    if votes.size == 0:
        return None
    return _NAMES[np.bincount(votes, minlength=len(_NAMES)).argmax()]


def colour_shares(pixels: npt.ArrayLike) -> dict[str, float]:
    """For each named colour, the share of all the picture's pixels that are saturated and nearest
    to it in hue; the background is left out by being dull (black, white or gray)."""
    votes = _colour_votes(_as_float(pixels))
    counts = np.bincount(votes[votes >= 0], minlength=len(_NAMES))
    return {name: float(count) / votes.size for name, count in zip(_NAMES, counts, strict=True)}


def _convex_hull_area(mask: np.ndarray) -> float:
    """Area of the convex hull of the mask's pixel squares (monotone chain, shoelace)."""
    points = set()
    for y in np.flatnonzero(mask.any(1)):
        xs = np.flatnonzero(mask[y])
        for x in (xs[0], xs[-1] + 1):  # only the corners of a row's end pixels can be on the hull
            points.update({(int(x), int(y)), (int(x), int(y) + 1)})
    ordered = sorted(points)

    def half(chain_points: list[tuple[int, int]]) -> list[tuple[int, int]]:
        chain: list[tuple[int, int]] = []
        for px, py in chain_points:
            while len(chain) >= 2:
                (ox, oy), (ax, ay) = chain[-2], chain[-1]
                if (ax - ox) * (py - oy) - (ay - oy) * (px - ox) > 0:
                    break
                chain.pop()
            chain.append((px, py))
        return chain[:-1]

    xs, ys = np.array(half(ordered) + half(ordered[::-1]), dtype=np.float64).T
    return 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))


def shape_features(mask: np.ndarray) -> dict[str, float]:
    """Geometric features of a non-empty foreground mask, its holes filled in: ``hole`` (the
    holes' share of the filled area), ``solidity`` (area / convex hull area), ``fill`` (area /
    bounding box area) and ``widest`` (where the row with the most pixels is, 0 top, 1 bottom)."""
    outside = _label(~mask)
    edges = np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]])
    filled = ~np.isin(outside, edges[edges >= 0])
    area = float(filled.sum())
    ys, xs = np.nonzero(filled)
    top, height = ys.min(), ys.max() - ys.min() + 1
    counts = filled.sum(1)[top : top + height]
    return {
        "hole": (area - float(mask.sum())) / area,
        "solidity": area / _convex_hull_area(filled),
        "fill": area / float(height * (xs.max() - xs.min() + 1)),
        "widest": (float(np.flatnonzero(counts == counts.max()).mean()) + 0.5) / float(height),
    }


def classify_shape(pixels: npt.ArrayLike) -> str | None:
    """One of ``SHAPES`` for the picture's foreground, or None without one.

    Decided in this order: a hole makes a ring, a full bounding box a square, the widest row at
    the bottom a triangle, a low solidity a star; what is left is a circle.
    """
    mask = foreground_mask(pixels)
    if mask.sum() < MIN_AREA:
        return None
    features = shape_features(mask)
    if features["hole"] > MIN_HOLE:
        return "ring"
    if features["fill"] > MIN_SQUARE_FILL:
        return "square"
    if features["widest"] > MIN_TRIANGLE_WIDEST:
        return "triangle"
    return "star" if features["solidity"] < MAX_STAR_SOLIDITY else "circle"
