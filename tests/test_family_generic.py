"""The generic family: pipelines no named family claims (Sana, Lumina 2, CogView4, Qwen-Image,
Flux.2 Klein, Chroma, AuraFlow, HunyuanDiT) travel by their own prompt embeddings and the
key-frame noise they draw themselves, on their tiny built-in pipelines."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import pixels
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.cli import main
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.families import family_of, family_of_class
from giffusion_nb.pipelines.families.generic import Generic
from giffusion_nb.pipelines.load import load_pipeline

PROMPTS = "0: a red circle\n3: a blue square"
CLI_PROMPTS = "0: a red circle\n8: a blue square"
FAMILIES = {
    "builtin:tiny-sana": "SanaPipeline",
    "builtin:tiny-lumina2": "Lumina2Pipeline",
    "builtin:tiny-cogview4": "CogView4Pipeline",
    "builtin:tiny-qwenimage": "QwenImagePipeline",
    "builtin:tiny-flux2-klein": "Flux2KleinPipeline",
    "builtin:tiny-chroma": "ChromaPipeline",
    "builtin:tiny-auraflow": "AuraFlowPipeline",
    "builtin:tiny-hunyuandit": "HunyuanDiTPipeline",
}


@functools.cache
def _pipeline(model_id: str):
    return load_pipeline(model_id, FAMILIES[model_id], device="cpu")


def _frames(model_id: str, tmp_path, **values) -> list[np.ndarray]:
    settings = {
        "model_id": model_id,
        "pipeline_class": FAMILIES[model_id],
        "prompts": PROMPTS,
        "num_inference_steps": 2,
        "height": 64,
        "width": 64,
        "guidance_scale": 3.0,
        **values,
    }
    session = RenderSession(
        output_dir=tmp_path, device="cpu", pipeline=_pipeline(model_id), **settings
    )
    return [pixels(frame.image) for frame in session.render_frames()]


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def _cli_render(model_id: str, folder: Path, capsys, *values: str) -> Path:
    """``giffusion-nb render`` of the travel on ``model_id``'s tiny pipeline; its output."""
    settings = [
        f"model_id={model_id}",
        f"pipeline_class={FAMILIES[model_id]}",
        f"prompts={CLI_PROMPTS}",
        "num_inference_steps=2",
        "height=64",
        "width=64",
        "guidance_scale=3.0",
        *values,
    ]
    arguments = ["render", "--quiet", "--output-dir", str(folder)]
    for value in settings:
        arguments += ["--set", value]
    code, out, err = _cli(capsys, *arguments)
    assert code == 0, err
    return Path(out.strip().splitlines()[-1])


def _cli(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def _saved(output: Path) -> list[np.ndarray]:
    return [pixels(Image.open(path)) for path in sorted((output.parent / "frames").glob("*"))]


@pytest.mark.parametrize("model_id", list(FAMILIES))
def test_each_pipeline_travels_batches_alike_resumes_and_reads_its_negative_prompt(
    model_id, tmp_path, capsys
):
    """Through the command line, from the pipeline's folder (``from_pretrained``)."""
    assert isinstance(family_of(_pipeline(model_id)), Generic)
    output = _cli_render(model_id, tmp_path / "one", capsys)
    one = _saved(output)
    assert len(one) == 9 and one[0].shape == (64, 64, 3)
    assert _mean_distance(one[0], one[8]) > 1  # of 255: the last key frame looks different
    assert min(_mean_distance(one[4], one[0]), _mean_distance(one[4], one[8])) > 0.2
    # Two frames a call: the same frames as one frame a call.
    two = _saved(_cli_render(model_id, tmp_path / "two", capsys, "batch_size=2"))
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(one, two, strict=True))
    # One noise for every frame: the embeddings alone still travel.
    fixed = _saved(_cli_render(model_id, tmp_path / "fixed", capsys, "use_fixed_latent=true"))
    assert _mean_distance(fixed[0], fixed[8]) > 0.2
    assert np.array_equal(fixed[0], one[0])  # key frame 0's noise is the seed's either way
    negative = _saved(
        _cli_render(model_id, tmp_path / "negative", capsys, "negative_prompt=blurry green")
    )
    assert max(np.abs(a - b).max() for a, b in zip(one, negative, strict=True)) > 2
    # A stopped render resumed: the frames of the uninterrupted one.
    for path in sorted((output.parent / "frames").glob("*"))[5:]:
        path.unlink()
    output.unlink()
    code, _out, err = _cli(capsys, "render", "--quiet", "--resume", str(output.parent))
    assert code == 0, err
    assert all(np.array_equal(a, b) for a, b in zip(one, _saved(output), strict=True))


def test_the_same_seed_gives_the_same_frames_and_another_seed_others(tmp_path):
    model_id = "builtin:tiny-sana"
    first, again = _frames(model_id, tmp_path), _frames(model_id, tmp_path)
    other = _frames(model_id, tmp_path, seed=43)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert _mean_distance(first[1], other[1]) > 1


def test_a_negative_prompt_without_true_guidance_is_refused_by_name(tmp_path):
    model_id = "builtin:tiny-qwenimage"
    with pytest.raises(SettingsError, match="true_cfg_scale") as info:
        _frames(
            model_id,
            tmp_path,
            negative_prompt="blurry",
            pipeline_kwargs={"true_cfg_scale": 1.0},
        )
    assert info.value.field == "negative_prompt"


def test_a_class_that_cannot_travel_is_refused_naming_what_it_lacks():
    class NoLatents:
        def __call__(self, prompt: str = "", num_inference_steps: int = 2) -> None: ...

    with pytest.raises(SettingsError, match="takes no latents") as info:
        family_of_class(NoLatents)
    assert info.value.field == "pipeline_class"


def test_a_pipeline_without_prompt_embeddings_travels_by_noise_and_says_so(tmp_path):
    from diffusers import AuraFlowPipeline

    class TextOnly(AuraFlowPipeline):  # a call that takes the prompt's text, never its tensors
        def __call__(
            self,
            prompt: str | list[str] | None = None,
            height: int | None = None,
            width: int | None = None,
            num_inference_steps: int = 50,
            guidance_scale: float = 3.5,
            generator: torch.Generator | list[torch.Generator] | None = None,
            latents: torch.Tensor | None = None,
            output_type: str = "pil",
        ):
            return super().__call__(
                prompt=prompt,
                height=height,
                width=width,
                num_inference_steps=num_inference_steps,
                guidance_scale=guidance_scale,
                generator=generator,
                latents=latents,
                output_type=output_type,
            )

    pipe = TextOnly(**_pipeline("builtin:tiny-auraflow").components)
    session = RenderSession(
        output_dir=tmp_path,
        device="cpu",
        pipeline=pipe,
        prompts=PROMPTS,
        num_inference_steps=2,
        height=64,
        width=64,
    )
    output = session.render()
    assert "travel by noise alone" in session.message and str(output) in session.message
    assert session.message.count("noise alone") == 1
    frames = [pixels(Image.open(path)) for path in sorted((output.parent / "frames").glob("*"))]
    assert _mean_distance(frames[0], frames[1]) > 0.2  # the noise travels
