"""Tests for giffusion_nb.pipelines.arguments: pipeline_kwargs values against the signature
of a real diffusers pipeline's __call__ and of annotated functions."""

from __future__ import annotations

from typing import Literal, Optional, Union

import pytest
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.arguments import check_call_arguments

SD = StableDiffusionPipeline.__call__
SDXL = StableDiffusionXLPipeline.__call__


@pytest.mark.parametrize(
    ("call", "values"),
    [
        (SD, {"guidance_rescale": 0.7}),
        (SD, {"guidance_rescale": 1, "eta": 0.0}),  # an integer is a number
        (SD, {"clip_skip": 2}),
        (SD, {"clip_skip": None}),
        (SD, {"timesteps": [999, 500, 1]}),
        (SD, {"sigmas": [14.6, 1, 0.0]}),
        (SD, {"cross_attention_kwargs": {"scale": 0.5}}),
        (SD, {"not_an_argument": "anything"}),  # unknown names: check_pipeline_accepts says so
        (SDXL, {"original_size": [1024, 1024], "denoising_end": 0.8}),
        (SDXL, {"negative_original_size": None, "prompt_2": ["a", "b"]}),
    ],
)
def test_values_the_pipeline_takes(call, values):
    check_call_arguments(call, values, "pipeline_kwargs")


@pytest.mark.parametrize(
    ("call", "values", "words"),
    [
        (SD, {"guidance_rescale": "high"}, "'guidance_rescale' expects a number, got 'high'"),
        (SD, {"guidance_rescale": True}, "expects a number, got True"),
        (SD, {"eta": None}, "'eta' expects a number, got None"),
        (SD, {"clip_skip": 2.5}, "'clip_skip' expects an integer or null, got 2.5"),
        (SD, {"timesteps": ["late"]}, "'timesteps' expects a list of integers"),
        (SD, {"timesteps": 10}, "expects a list of integers, got 10"),
        (SD, {"cross_attention_kwargs": [1]}, 'a JSON object like {"key": 1} or null'),
        (SD, {"ip_adapter_image": "photo.png"}, "a PIL.Image or a numpy.ndarray"),
        (SD, {"ip_adapter_image_embeds": [[0.1]]}, "a torch.Tensor"),
        (SDXL, {"original_size": [64]}, "a list of 2 integers or null, got [64]"),
        (SDXL, {"denoising_end": "late"}, "'denoising_end' expects a number or null"),
    ],
)
def test_values_the_pipeline_would_fail_on(call, values, words):
    with pytest.raises(SettingsError) as info:
        check_call_arguments(call, values, "pipeline_kwargs")
    assert info.value.field == "pipeline_kwargs"
    assert words in info.value.message


def _annotated(
    mode: Literal["fast", "fine"] = "fast",
    pair: tuple[int, str] = (1, "a"),
    many: tuple[float, ...] = (),
    table: dict[str, int] | None = None,
    old: Optional[Union[int, str]] = None,  # noqa: UP007, UP045 - older pipelines spell it so
    flag=False,
    scale=1.0,
    anything=None,
    *args,
    **kwargs,
) -> None:
    pass


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ({"mode": "fine"}, True),
        ({"mode": "slow"}, False),
        ({"pair": [2, "b"]}, True),
        ({"pair": [2, 3]}, False),
        ({"many": [1, 2.5, 3]}, True),
        ({"many": [1, "x"]}, False),
        ({"table": {"a": 1}}, True),
        ({"table": {"a": "b"}}, False),
        ({"old": "text"}, True),
        ({"old": 1.5}, False),
        ({"flag": True}, True),  # no annotation: the default's kind
        ({"flag": 1}, False),
        ({"scale": 2}, True),
        ({"scale": "big"}, False),
        ({"anything": {"x": [1]}}, True),
        ({"args": 1, "kwargs": 2}, True),  # catch-alls take anything
    ],
)
def test_annotations_and_defaults(values, ok):
    if ok:
        check_call_arguments(_annotated, values, "f")
    else:
        with pytest.raises(SettingsError) as info:
            check_call_arguments(_annotated, values, "f")
        assert repr(next(iter(values))) in info.value.message
