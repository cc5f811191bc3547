"""Every pipeline family on its tiny built-in pipeline: the travel, fixed latents, batch
invariance, negative prompts, image inputs and the key-frame noise of image-to-image."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from helpers import gradient, pixels, solid
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.cli import main
from giffusion_nb.pipelines.families import family_of
from giffusion_nb.pipelines.load import load_pipeline

PROMPTS = "0: a red fox\n4: a blue lion"
# name: (model id, pipeline class, ControlNet ids, extra settings)
CASES = {
    "sd-v-prediction": ("builtin:tiny-sd-v", "StableDiffusionPipeline", [], {}),
    "sdxl": ("builtin:tiny-sdxl", "StableDiffusionXLPipeline", [], {}),
    "sdxl-img2img": ("builtin:tiny-sdxl", "StableDiffusionXLPipeline", [], {"image": True}),
    "sdxl-controlnet": (
        "builtin:tiny-sdxl",
        "StableDiffusionXLPipeline",
        ["builtin:tiny-controlnet-sdxl"],
        {"image": True},
    ),
    "sd3": ("builtin:tiny-sd3", "StableDiffusion3Pipeline", [], {}),
    "sd3-img2img": ("builtin:tiny-sd3", "StableDiffusion3Pipeline", [], {"image": True}),
    "flux": ("builtin:tiny-flux", "FluxPipeline", [], {"pipeline_kwargs": {"true_cfg_scale": 2.0}}),
    "flux-img2img": ("builtin:tiny-flux", "FluxPipeline", [], {"image": True}),
    "pixart-alpha": ("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline", [], {}),
    "pixart-sigma": ("builtin:tiny-pixart-sigma", "PixArtSigmaPipeline", [], {}),
    "instruct-pix2pix": (
        "builtin:tiny-ip2p",
        "StableDiffusionInstructPix2PixPipeline",
        [],
        {"image": True},
    ),
}
IMAGE_CASES = [name for name, case in CASES.items() if case[3].get("image")]
NEGATIVE_CASES = [name for name in CASES if name != "flux-img2img"]


@functools.cache
def _pipeline(model_id: str, pipeline_class: str, controlnets: tuple[str, ...]):
    return load_pipeline(model_id, pipeline_class, controlnets, device="cpu")


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("pictures")
    paths = [folder / "gradient.png", folder / "red.png"]
    gradient(0).save(paths[0])
    solid((200, 40, 40)).save(paths[1])
    return [str(path) for path in paths]


def _frames(name: str, pictures: list[str], tmp_path, **values) -> list[np.ndarray]:
    model_id, pipeline_class, controlnets, extra = CASES[name]
    extra = dict(extra)
    if extra.pop("image", False):
        extra["image_input"] = pictures[0]
    settings = {
        "model_id": model_id,
        "pipeline_class": pipeline_class,
        "controlnet_ids": controlnets,
        "prompts": PROMPTS,
        "num_inference_steps": 3,
        "height": 64,
        "width": 64,
        "guidance_scale": 3.0,
        "strength": 0.6,
        **extra,
        **values,
    }
    pipe = _pipeline(model_id, pipeline_class, tuple(controlnets))
    session = RenderSession(output_dir=tmp_path, device="cpu", pipeline=pipe, **settings)
    return [pixels(frame.image) for frame in session.render_frames()]


def _distances(frames: list[np.ndarray]) -> list[float]:
    return [float(np.abs(frame - frames[0]).mean()) for frame in frames]


@pytest.mark.parametrize("name", list(CASES))
def test_the_travel_moves_between_key_frames(name, pictures, tmp_path):
    travelling = _distances(_frames(name, pictures, tmp_path))
    assert all(a < b for a, b in itertools.pairwise(travelling)), travelling
    assert travelling[-1] > 5  # of 255: the end key frame looks different
    fixed = _distances(_frames(name, pictures, tmp_path, use_fixed_latent=True))
    assert all(a < b for a, b in itertools.pairwise(fixed)), fixed  # the embeddings
    assert 0.2 < fixed[-1] < travelling[-1]


@pytest.mark.parametrize("name", list(CASES))
def test_batch_size_does_not_change_the_frames(name, pictures, tmp_path):
    one = _frames(name, pictures, tmp_path, batch_size=1)
    two = _frames(name, pictures, tmp_path, batch_size=2)
    for a, b in zip(one, two, strict=True):
        assert np.abs(a - b).max() <= 1


@pytest.mark.parametrize("name", NEGATIVE_CASES)
def test_a_negative_prompt_changes_the_frames(name, pictures, tmp_path):
    plain = _frames(name, pictures, tmp_path)
    negative = _frames(name, pictures, tmp_path, negative_prompt="blurry green")
    assert max(np.abs(a - b).max() for a, b in zip(plain, negative, strict=True)) > 2


@pytest.mark.parametrize("name", IMAGE_CASES)
def test_a_different_image_input_changes_the_frames(name, pictures, tmp_path):
    first = _frames(name, pictures, tmp_path)
    second = _frames(name, pictures, tmp_path, image_input=pictures[1])
    assert min(np.abs(a - b).mean() for a, b in zip(first, second, strict=True)) > 0.05


@pytest.mark.parametrize("name", [n for n in IMAGE_CASES if "controlnet" not in n])
def test_image_to_image_starts_from_the_key_frame_noise(name, pictures, tmp_path):
    travelling = _frames(name, pictures, tmp_path)
    fixed = _frames(name, pictures, tmp_path, use_fixed_latent=True)
    other_seed = _frames(name, pictures, tmp_path, seed=43)
    assert np.array_equal(travelling[0], fixed[0])  # key frame 0's seed is the seed itself
    assert np.abs(travelling[-1] - fixed[-1]).mean() > 1  # key frame 4: seed + 4, or the seed
    assert np.abs(travelling[2] - other_seed[2]).mean() > 1


def test_flux_negative_prompt_needs_true_guidance(pictures, tmp_path):
    from giffusion_nb.errors import SettingsError

    with pytest.raises(SettingsError, match="true_cfg_scale") as info:
        _frames("flux-img2img", pictures, tmp_path, negative_prompt="blurry")
    assert info.value.field == "negative_prompt"


def test_pixart_masks_travel_by_their_maximum(pictures, tmp_path, monkeypatch):
    pipe = _pipeline("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline", ())
    calls = []
    original = type(pipe).__call__

    @functools.wraps(original)
    def spy(self, **kwargs):
        calls.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    _frames("pixart-alpha", pictures, tmp_path, prompts="0: a fox\n4: a very long prompt of a lion")
    family = family_of(pipe)
    encoded = family.encode_prompts(pipe, ["a fox", "a very long prompt of a lion"], None, "cpu")
    masks = encoded["prompt_attention_mask"]
    assert masks[0].sum() < masks[1].sum()
    for call in calls:  # every frame, key frames included, gets the union of the two masks
        assert (call["prompt_attention_mask"] == masks.max(dim=0).values).all()
        assert call["negative_prompt"] is None


# --- through the command line -----------------------------------------------------------------


def _cli(tmp_path, capsys, model_id, pipeline_class, *values) -> tuple[int, str, str]:
    arguments = ["render", "--quiet", "--output-dir", str(tmp_path)]
    settings = [
        f"model_id={model_id}",
        f"pipeline_class={pipeline_class}",
        "prompts=0: a red fox\n3: a blue lion",
        "num_inference_steps=2",
        "height=64",
        "width=64",
        *values,
    ]
    for value in settings:
        arguments += ["--set", value]
    code = main(arguments)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("model_id", "pipeline_class"),
    sorted({(case[0], case[1]) for case in CASES.values() if not case[3].get("image")}),
)
def test_the_cli_renders_every_family_from_its_folder(model_id, pipeline_class, tmp_path, capsys):
    code, out, err = _cli(tmp_path, capsys, model_id, pipeline_class)
    assert code == 0, err
    with Image.open(out.strip().splitlines()[-1]) as gif:
        assert gif.n_frames == 4 and gif.size == (64, 64)


@pytest.mark.parametrize(
    ("model_id", "pipeline_class", "values"),
    [
        ("builtin:tiny-sd", "StableDiffusionImg2ImgPipeline", ()),
        ("builtin:tiny-sdxl", "StableDiffusionXLImg2ImgPipeline", ()),
        ("builtin:tiny-sd", "StableDiffusionPipeline", ("controlnet_ids=builtin:tiny-controlnet",)),
        ("builtin:tiny-ip2p", "StableDiffusionInstructPix2PixPipeline", ()),
        ("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline", ("zoom=0: (1.05)",)),
    ],
)
def test_a_missing_image_is_a_user_error_naming_the_field(
    model_id, pipeline_class, values, tmp_path, capsys
):
    code, _out, err = _cli(tmp_path, capsys, model_id, pipeline_class, *values)
    assert code == 2, err
    field = "zoom" if values and values[0].startswith("zoom") else "image_input"
    assert f"error: `{field}`" in err
