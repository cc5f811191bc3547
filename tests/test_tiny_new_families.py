"""Tests for the tiny pipelines of the newer diffusers families (Sana, Lumina 2, CogView4,
Qwen-Image, Flux.2 Klein, Chroma, AuraFlow, HunyuanDiT, Wan, LTX-Video): each is built once,
saved, loaded back with ``load_pipeline`` and rendered at 64 px from embeddings that its own
``encode_prompt`` made for two prompts at once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import gradient, solid

from giffusion_nb.pipelines.load import load_pipeline

PROMPTS = ["a red circle", "a blue square"]
NEGATIVE = object()  # an encode_prompt call for empty negative prompts, one per prompt
_MASKED = ("prompt_embeds", "prompt_attention_mask")
_NEGATIVES = ("negative_prompt_embeds", "negative_prompt_attention_mask")
_GUIDED = (*_MASKED, *_NEGATIVES)
_PAIR = ("prompt_embeds", "negative_prompt_embeds")
_MASKS = ("prompt_attention_mask", "negative_prompt_attention_mask")
_NEGATIVE_PROMPT = {"negative_prompt": ["", ""]}
_FRAMES = {"num_frames": 9}
_FIRST_LAST = {**_FRAMES, "image": gradient(0), "last_image": solid((40, 60, 220))}
# id: pipeline class, the encode_prompt calls (their arguments and the __call__ argument each
# returned tensor goes to, None for one __call__ does not take), extra __call__ arguments
FAMILIES = {
    "builtin:tiny-sana": (
        "SanaPipeline",
        [({"negative_prompt": ""}, _GUIDED)],
        {"use_resolution_binning": False, "negative_prompt": None},  # its default is ""
    ),
    "builtin:tiny-lumina2": ("Lumina2Pipeline", [(_NEGATIVE_PROMPT, _GUIDED)], {}),
    "builtin:tiny-cogview4": ("CogView4Pipeline", [(_NEGATIVE_PROMPT, _PAIR)], {}),
    "builtin:tiny-qwenimage": (
        "QwenImagePipeline",
        [
            ({}, ("prompt_embeds", "prompt_embeds_mask")),
            ({"prompt": NEGATIVE}, ("negative_prompt_embeds", "negative_prompt_embeds_mask")),
        ],
        {"true_cfg_scale": 4.0},
    ),
    "builtin:tiny-flux2-klein": (
        "Flux2KleinPipeline",
        [({}, ("prompt_embeds", None)), ({"prompt": NEGATIVE}, ("negative_prompt_embeds", None))],
        {},
    ),
    "builtin:tiny-chroma": (
        "ChromaPipeline",
        [
            (
                _NEGATIVE_PROMPT,
                (
                    "prompt_embeds",
                    None,  # text_ids
                    "prompt_attention_mask",
                    "negative_prompt_embeds",
                    None,
                    "negative_prompt_attention_mask",
                ),
            )
        ],
        {},
    ),
    "builtin:tiny-auraflow": ("AuraFlowPipeline", [(_NEGATIVE_PROMPT, _GUIDED)], {}),
    "builtin:tiny-hunyuandit": (
        "HunyuanDiTPipeline",
        [
            (
                {**_NEGATIVE_PROMPT, "text_encoder_index": index},
                tuple(name + suffix for name in (*_PAIR, *_MASKS)),
            )
            for index, suffix in ((0, ""), (1, "_2"))
        ],
        {"use_resolution_binning": False},
    ),
    "builtin:tiny-wan": (
        "WanPipeline",
        [({**_NEGATIVE_PROMPT, "max_sequence_length": 512}, _PAIR)],
        _FRAMES,
    ),
    "builtin:tiny-wan-flf": (
        "WanImageToVideoPipeline",
        [({**_NEGATIVE_PROMPT, "max_sequence_length": 512}, _PAIR)],
        _FIRST_LAST,
    ),
    "builtin:tiny-ltx": ("LTXPipeline", [(_NEGATIVE_PROMPT, _GUIDED)], _FRAMES),
}


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    """A tiny pipeline loaded on the CPU (built and saved once per test session), its
    per-prompt embeddings and extra call arguments."""
    model_id = request.param
    pipeline_class, calls, extra = FAMILIES[model_id]
    pipe = load_pipeline(model_id, pipeline_class, device="cpu")
    return model_id, pipe, encode(pipe, calls), extra


def encode(pipe, calls) -> list[dict]:
    """``__call__`` arguments for each of ``PROMPTS``, from ``encode_prompt`` called on all of
    them at once."""
    tensors = {}
    with torch.no_grad():
        for arguments, names in calls:
            arguments = {"prompt": PROMPTS, **arguments}
            if arguments["prompt"] is NEGATIVE:
                arguments["prompt"] = [""] * len(PROMPTS)
            outputs = pipe.encode_prompt(device="cpu", **arguments)
            tensors.update((name, out) for name, out in zip(names, outputs, strict=True) if name)
    return [
        {name: None if t is None else t[row : row + 1] for name, t in tensors.items()}
        for row in range(len(PROMPTS))
    ]


def render(pipe, seed: int = 0, **kwargs) -> np.ndarray:
    """Two steps at 64 px: an image pipeline's images, a video pipeline's frames."""
    output = pipe(
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
        **kwargs,
    )
    return np.asarray(output.frames if hasattr(output, "frames") else output.images)


def test_renders_from_embeddings_and_the_prompt_matters(family):
    model_id, pipe, embeddings, extra = family
    first, second, again = (render(pipe, **embeddings[row], **extra) for row in (0, 1, 0))
    frames = (extra["num_frames"],) if "num_frames" in extra else ()
    assert first.shape == (1, *frames, 64, 64, 3), model_id
    assert np.isfinite(first).all() and first.min() >= 0 and first.max() <= 1
    assert np.abs(first - second).max() > 8 / 255, model_id  # the prompt changes the picture
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("model_id", ["builtin:tiny-wan", "builtin:tiny-ltx"])
def test_video_families_render_seventeen_frames(model_id):
    pipeline_class, _, extra = FAMILIES[model_id]
    pipe = load_pipeline(model_id, pipeline_class, device="cpu")
    frames = render(pipe, prompt=PROMPTS[0], **{**extra, "num_frames": 17})
    assert frames.shape == (1, 17, 64, 64, 3)


def test_wan_first_last_frame_model_uses_the_last_image():
    pipe = load_pipeline("builtin:tiny-wan-flf", "WanImageToVideoPipeline", device="cpu")
    blue, red = (
        render(pipe, prompt=PROMPTS[0], **{**_FIRST_LAST, "last_image": solid(color)})
        for color in ((40, 60, 220), (230, 30, 30))
    )
    assert np.abs(blue - red).max() > 8 / 255


def test_ltx_condition_pipeline_loads_tiny_ltx_and_takes_a_key_frame_image():
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    pipe = load_pipeline("builtin:tiny-ltx", "LTXConditionPipeline", device="cpu")
    assert type(pipe).__name__ == "LTXConditionPipeline"
    plain = render(pipe, prompt=PROMPTS[0], **_FRAMES)
    keyed = render(
        pipe,
        prompt=PROMPTS[0],
        conditions=[LTXVideoCondition(image=solid((230, 30, 30)), frame_index=8)],
        **_FRAMES,
    )
    assert keyed.shape == plain.shape == (1, 9, 64, 64, 3)
    assert np.abs(keyed - plain).max() > 8 / 255


def test_qwen_image_drops_exactly_its_template_before_the_prompt():
    pipe = load_pipeline("builtin:tiny-qwenimage", "QwenImagePipeline", device="cpu")
    text = pipe.prompt_template_encode.format(PROMPTS[0])
    ids = pipe.tokenizer(text).input_ids
    kept = pipe.tokenizer.decode(ids[pipe.prompt_template_encode_start_idx :])
    assert kept == PROMPTS[0] + "<|im_end|>\n<|im_start|>assistant\n"
