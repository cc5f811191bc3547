"""From a spec and a loaded pipeline to a prepared job: the family and the pipelines its frames
need, the frame size, key-frame noise and prompt encoders, the scheduler and LoRA adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.frozen import thaw
from giffusion_nb.pipelines.families import Family, family_of
from giffusion_nb.pipelines.families.base import (
    CONTROL,
    CONTROL_IMAGE,
    IMAGE,
    INPAINT,
    TEXT,
    FrameSize,
    mode_words,
)
from giffusion_nb.pipelines.load import fit_vae_to_frames
from giffusion_nb.pipelines.lora import drop_adapters, load_adapters
from giffusion_nb.pipelines.schedulers import build_scheduler
from giffusion_nb.render.coherence import coherence_of
from giffusion_nb.render.conditioning import KeyFrameNoise, KeyFrameTensors
from giffusion_nb.render.frame_inputs import FrameImages
from giffusion_nb.render.job import RenderJob, check_pipeline_accepts
from giffusion_nb.render.key_frame_images import image_key_frames
from giffusion_nb.render.key_frame_painter import paint_key_frames
from giffusion_nb.render.prompt_checks import key_frame_texts
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.render.video_checks import check_video

StepCallback = Callable[[Any, int, Any, dict], dict]
Notify = Callable[[str], None]


class Siblings:
    """A loaded pipeline's sibling pipelines (image-to-image, ControlNet…), made once each
    with ``from_pipe`` so they share its weights."""

    def __init__(self) -> None:
        self._of: Any = None
        self._made: dict[str, Any] = {}

    def get(self, pipe: Any, family: Family, mode: str) -> Any:
        if self._of is not pipe:
            self._of, self._made = pipe, {}
        if mode not in self._made:
            self._made[mode] = family.sibling(pipe, mode)
        return self._made[mode]


def prepare_job(
    spec: RenderSpec,
    pipe: Any,
    device: torch.device,
    *,
    siblings: Siblings | None = None,
    callback: StepCallback | None = None,
    on_message: Notify | None = None,
) -> RenderJob:
    """Check the spec against the pipeline's family and prepare everything the calls need;
    ``on_message`` hears what the render does differently from what was asked (once)."""
    s = spec.settings
    # 1. The family, and the pipelines its frames need
    family = family_of(pipe)
    loaded = family.mode_of(pipe)
    if loaded == INPAINT:
        raise SettingsError(
            "pipeline_class",
            f"{type(pipe).__name__} inpaints, which needs a mask that giffusion_nb has no input "
            f"for; choose {family.pipelines[TEXT]}",
        )
    controlnet = loaded in (CONTROL, CONTROL_IMAGE)
    anchors = image_key_frames(spec.plan.key_frames, family, painted=bool(s.key_frame_model))
    windows = family.windows(
        pipe, spec.num_frames, s.video_window, s.video_overlap, list(anchors), s.video_join
    )
    if windows is not None:
        check_video(spec, family, from_images=not controlnet)
    inputs = _frame_inputs(spec, family.size_multiple(pipe))
    modes = _modes(spec, family, loaded, controlnet, inputs is not None)
    pipes = {mode: (siblings or Siblings()).get(pipe, family, mode) for mode in modes}
    for used in pipes.values():
        check_pipeline_accepts(used, spec, family)
    # 2. Frame size and latent channels
    height, width = frame_size(pipe, family, spec, inputs)
    size = FrameSize(height, width, _latent_channels(pipe, family, s.num_latent_channels))
    frames_a_call = max((len(window.frames) for window in windows or ()), default=1)
    fit_vae_to_frames(pipe, height, width, frames_a_call)
    painted = paint_key_frames(spec, device, height, width)
    # 3. Key-frame noise and prompts, made as calls need them
    noise = KeyFrameNoise(spec.plan.key_frame_seed, device, pipe.dtype)
    guidance = family.uses_guidance(spec.most_guidance, thaw(s.pipeline_kwargs))
    job = RenderJob(
        spec=spec,
        family=family,
        pipes=pipes,
        size=size,
        noise=noise,
        controlnet=controlnet,
        inputs=inputs,
        callback=callback,
        windows=windows,
        image_frames=anchors,
        painted=painted,
        coherence=coherence_of(s),
    )
    if s.use_prompt_embeds:
        problem = family.travel_problem(pipe)
        if problem is None:
            job.prompts = KeyFrameTensors(_prompt_encoder(spec, family, pipe, device, guidance))
        elif on_message is not None:
            on_message(
                f"{problem}: the frames travel by noise alone, each taking its key frame's text"
            )
    # 4. The settings' scheduler
    if s.scheduler != "default" or s.scheduler_kwargs:
        job.scheduler = build_scheduler(
            pipe.scheduler, s.scheduler, thaw(s.scheduler_kwargs), int(spec.step_counts.max())
        )
    # 5. LoRA adapters: loaded once (kept for the next render of the same `lora`), on only
    # during a call
    if spec.lora:
        job.lora = load_adapters(pipe, family.name, spec.lora)
    else:
        drop_adapters(pipe)
    return job


def _prompt_encoder(
    spec: RenderSpec, family: Family, pipe: Any, device: torch.device, guidance: bool
) -> Callable[[list[int]], dict[str, torch.Tensor]]:
    """``make`` of the key frames' prompt tensors: the asked key frames' prompts in one call,
    or, for a family whose padding is the longest prompt's, every key frame's distinct
    prompts in one call (so all rows have one length), kept."""
    key_frames = spec.plan.key_frames
    default_negative = spec.settings.negative_prompt
    call_values = thaw(spec.settings.pipeline_kwargs)
    texts = [key_frame_texts(key_frame, default_negative) for key_frame in key_frames]

    def encode(pairs: list[tuple[Any, Any]]) -> dict[str, torch.Tensor]:
        prompts = [prompt for prompt, _ in pairs]
        negatives = [negative for _, negative in pairs] if guidance else None
        with torch.no_grad():
            return family.encode_prompts(pipe, prompts, negatives, device, call_values)

    if not family.pads_prompts_together:
        return lambda indices: encode([texts[index] for index in indices])
    table: dict[str, torch.Tensor] = {}
    distinct = list(dict.fromkeys(texts))
    row_of = {pair: row for row, pair in enumerate(distinct)}

    def encode_all(indices: list[int]) -> dict[str, torch.Tensor]:
        if not table:
            table.update(encode(distinct))
        rows = torch.tensor([row_of[texts[index]] for index in indices])
        return {name: tensor[rows.to(tensor.device)] for name, tensor in table.items()}

    return encode_all


def _frame_inputs(spec: RenderSpec, multiple: int) -> FrameImages | None:
    s = spec.settings
    if not (s.image_input or s.video_input):
        return None
    return FrameImages(
        image_input=s.image_input,
        video_input=s.video_input,
        num_frames=spec.num_frames,
        multiple=multiple,
        size=(s.width, s.height),
    )


def _modes(
    spec: RenderSpec, family: Family, loaded: str, controlnet: bool, has_inputs: bool
) -> set[str]:
    """The modes of the render's frames; the family must have each, and the loaded class
    must fit them (an image-to-image class needs an image for every frame)."""
    field = "video_input" if spec.settings.video_input else "image_input"
    if family.needs_image and not has_inputs:
        raise SettingsError(
            "image_input", f"{family.name} edits an image: set image_input or video_input"
        )
    if controlnet and not has_inputs:
        raise SettingsError(
            "image_input",
            "a ControlNet needs a conditioning image for every frame: set image_input or "
            "video_input",
        )
    first_has_init = has_inputs and not controlnet
    modes = {family.mode_for(controlnet, first_has_init)}
    if spec.motion is not None:
        modes.add(family.mode_for(controlnet, True))
    if loaded in (IMAGE, CONTROL_IMAGE) and modes & {TEXT, CONTROL}:
        other = f", or choose {family.pipelines[TEXT]}" if TEXT in family.pipelines else ""
        raise SettingsError(
            "image_input",
            f"{family.pipelines[loaded]} starts every frame from an image: set image_input or "
            f"video_input{other}",
        )
    for mode in sorted(modes):
        if mode not in family.pipelines:
            cause = "2D motion" if spec.motion is not None and not has_inputs else field
            raise SettingsError(
                "zoom" if cause == "2D motion" else field,
                f"{family.name} has no {mode_words(mode)} pipeline in diffusers, which "
                f"{cause} needs",
            )
    return modes


def frame_size(
    pipe: Any, family: Family, spec: RenderSpec, inputs: FrameImages | None
) -> tuple[int, int]:
    """(height, width) of the frames: the input media's, else the settings', else the model's."""
    if inputs is not None:
        width, height = inputs.size
    else:
        native = family.native_size(pipe)
        height = spec.settings.height or native
        width = spec.settings.width or native
    multiple = family.size_multiple(pipe)
    for name, value in (("height", height), ("width", width)):
        if value % multiple:
            raise SettingsError(
                name, f"{family.name} needs multiples of {multiple} pixels but {name} is {value}"
            )
    return height, width


def _latent_channels(pipe: Any, family: Family, asked: int | None) -> int | None:
    channels = family.latent_channels(pipe)
    if asked is not None and asked != channels:
        expected = (
            "the pipeline draws its noise at its own shape"
            if channels is None
            else f"the model starts from {channels} latent channels"
        )
        raise SettingsError(
            "num_latent_channels",
            f"{expected}, got {asked}; leave it empty for the model's",
        )
    return channels
