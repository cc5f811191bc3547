"""Key-frame tensors (noise latents, prompt embeddings), made when a batch first needs them, and
their travel to each frame of a batch: slerp, or the maximum for attention masks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence

import torch

from giffusion_nb.keyframes.schedules import FrameStep
from giffusion_nb.pipelines.families.base import TravelledNoise
from giffusion_nb.render.slerp import slerp

KEEP_KEY_FRAMES = 8  # a batch spans a few segments; their key frames stay between batches


def key_frame_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """The noise latent of one key frame: drawn on the CPU in float32 from its own generator,
    so a seed gives the same noise on every device and at every batch size."""
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def key_frame_latents(
    seeds: Sequence[int], shape: tuple[int, ...], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """One noise latent of ``shape`` per seed, stacked: ``(len(seeds), *shape)``."""
    latents = [key_frame_noise(seed, shape) for seed in seeds]
    return torch.stack(latents).to(device=device, dtype=dtype)


Make = Callable[[list[int]], dict[str, torch.Tensor]]


class KeyFrameTensors:
    """Named tensors of each key frame, made on first use, a few key frames kept.

    ``make(indices)`` returns, for those key frames, each name's tensor with one row per
    index; the memory held stays that of ``keep`` key frames however many there are.
    """

    def __init__(self, make: Make, keep: int = KEEP_KEY_FRAMES) -> None:
        self._make = make
        self._keep = keep
        self._rows: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()
        self._made_at: Hashable = None

    def made_at(self, state: Hashable) -> None:
        """Rows from now on are made in ``state`` (what ``make`` reads besides the indices,
        such as the LoRA scales of a text encoder): rows made in another state are dropped."""
        if state != self._made_at:
            self._rows.clear()
            self._made_at = state

    def rows(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Each name's tensor for ``indices`` (repeats allowed), stacked in that order."""
        missing = sorted(set(indices) - set(self._rows))
        if missing:
            made = self._make(missing)
            for position, index in enumerate(missing):
                self._rows[index] = {name: tensor[position] for name, tensor in made.items()}
        for index in indices:
            self._rows.move_to_end(index)
        wanted = [self._rows[index] for index in indices]
        while len(self._rows) > max(self._keep, len(set(indices))):
            self._rows.popitem(last=False)
        return {name: torch.stack([row[name] for row in wanted]) for name in wanted[0]}


class KeyFrameNoise:
    """Each key frame's noise latent, at whatever shape a call asks for: drawn from the key
    frame's seed on first use (``key_frame_noise``) and moved to the pipeline's device and
    dtype; a few key frames of the last shape asked for are kept."""

    def __init__(
        self, seed_of: Callable[[int], int], device: torch.device, dtype: torch.dtype
    ) -> None:
        self._seed_of, self._device, self._dtype = seed_of, device, dtype
        self._shape: tuple[int, ...] | None = None
        self._tensors: KeyFrameTensors | None = None

    def at(self, shape: tuple[int, ...]) -> KeyFrameTensors:
        """The key frames' noise of ``shape``, as ``KeyFrameTensors`` named ``noise``."""
        if shape != self._shape:

            def make(indices: list[int]) -> dict[str, torch.Tensor]:
                noise = [key_frame_noise(self._seed_of(index), shape) for index in indices]
                return {"noise": torch.stack(noise).to(device=self._device, dtype=self._dtype)}

            self._shape, self._tensors = shape, KeyFrameTensors(make)
        return self._tensors

    def travelled(self, steps: Sequence[FrameStep], last_key_frame: int) -> TravelledNoise:
        """The noise of ``steps``' frames, each at its t between its two key frames."""

        def make(shape: tuple[int, ...]) -> torch.Tensor:
            return travel(self.at(shape), steps, last_key_frame)["noise"]

        return TravelledNoise(make, len(steps))


def travel(
    tensors: KeyFrameTensors,
    steps: Sequence[FrameStep],
    last_key_frame: int,
    masks: Collection[str] = (),
) -> dict[str, torch.Tensor]:
    """Each step's tensors between its segment's two key frames at its t: slerp, or for the
    names in ``masks`` the elementwise maximum (a token counts where either key frame has it)."""
    starts = [step.segment for step in steps]
    ends = [min(segment + 1, last_key_frame) for segment in starts]
    first, second = tensors.rows(starts), tensors.rows(ends)
    travelled = {}
    for name, start in first.items():
        if name in masks:
            travelled[name] = torch.maximum(start, second[name])
        else:
            t = torch.tensor([step.t for step in steps], dtype=torch.float32, device=start.device)
            travelled[name] = slerp(t, start, second[name])
    return travelled
