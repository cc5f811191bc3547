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


@pytest.mark.parametrize("model_id", list(FAMILIES))
def test_each_pipeline_travels_batches_alike_and_reads_its_negative_prompt(model_id, tmp_path):
    assert isinstance(family_of(_pipeline(model_id)), Generic)
    one = _frames(model_id, tmp_path)
    assert len(one) == 4 and one[0].shape == (64, 64, 3)
    assert _mean_distance(one[0], one[3]) > 1  # of 255: the last key frame looks different
    for middle in one[1:3]:  # in-betweens are neither end
        assert min(_mean_distance(middle, one[0]), _mean_distance(middle, one[3])) > 0.2
    # The whole travel in one call: the same frames as one frame a call.
    for a, b in zip(one, _frames(model_id, tmp_path, batch_size=4), strict=True):
        assert np.abs(a - b).max() <= 1
    # One noise for every frame: the embeddings alone still travel.
    fixed = _frames(model_id, tmp_path, use_fixed_latent=True)
    assert _mean_distance(fixed[0], fixed[3]) > 0.2
    assert np.array_equal(fixed[0], one[0])  # key frame 0's noise is the seed's either way
    negative = _frames(model_id, tmp_path, negative_prompt="blurry green")
    assert max(np.abs(a - b).max() for a, b in zip(one, negative, strict=True)) > 2


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


# --- through the command line -----------------------------------------------------------------


def _cli(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["render", "--quiet", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_renders_and_resumes_a_generic_pipeline_to_the_same_frames(tmp_path, capsys):
    settings = [
        "model_id=builtin:tiny-auraflow",
        "pipeline_class=AuraFlowPipeline",
        f"prompts={PROMPTS}",
        "num_inference_steps=2",
        "height=64",
        "width=64",
    ]
    arguments = ["--output-dir", str(tmp_path)]
    for value in settings:
        arguments += ["--set", value]
    code, out, err = _cli(capsys, *arguments)
    assert code == 0, err
    output = Path(out.strip().splitlines()[-1])
    run_dir = output.parent
    frames = sorted((run_dir / "frames").glob("*.png"))
    reference = [pixels(Image.open(path)) for path in frames]
    for path in frames[1:3]:
        path.unlink()
    output.unlink()
    code, out, err = _cli(capsys, "--resume", str(run_dir))
    assert code == 0, err
    resumed = [pixels(Image.open(path)) for path in frames]
    assert all(np.array_equal(a, b) for a, b in zip(reference, resumed, strict=True))
    with Image.open(output) as gif:
        assert gif.n_frames == 4 and gif.size == (64, 64)
