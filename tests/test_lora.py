"""LoRA adapters of the `lora` setting on the tiny pipelines: a tiny LoRA made from the tiny
UNet in the test, saved with ``save_lora_weights`` and loaded back from the file; scales,
scale curves, batch invariance, and the errors of files and families that cannot take one."""

from __future__ import annotations

import copy
import functools
import itertools

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from diffusers.utils import convert_state_dict_to_diffusers
from helpers import pixels
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
from safetensors.torch import save_file

from giffusion_nb import RenderSession
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.pipelines.lora import ADAPTER_PREFIX
from giffusion_nb.render.prepare import prepare_job
from giffusion_nb.render.renderer import call_groups
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.settings import Settings

TINY = {
    "model_id": "builtin:tiny-sd",
    "num_inference_steps": 2,
    "height": 64,
    "width": 64,
    "guidance_scale": 3.0,
    "prompts": "0: a red fox\n3: a blue whale",  # 4 frames
}
ATTENTION = ["to_q", "to_k", "to_v", "to_out.0"]


@pytest.fixture(scope="module")
def pipe():
    """A tiny SD pipeline of its own: adapters loaded here never reach the shared one."""
    return load_pipeline("builtin:tiny-sd", device="cpu")


def _lora_layers(model, targets: list[str], seed: int) -> dict[str, torch.Tensor]:
    """Random rank-4 LoRA layers (neither half zero) on a copy of ``model``, in diffusers'
    naming."""
    torch.manual_seed(seed)
    config = LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False)
    model = inject_adapter_in_model(config, copy.deepcopy(model))
    return convert_state_dict_to_diffusers(get_peft_model_state_dict(model))


def _renamed(layers: dict[str, torch.Tensor], prefix: str = "unet") -> dict[str, torch.Tensor]:
    """Layers under the component's prefix, as diffusers' loader reads a file."""
    return {f"{prefix}.{key}": value.contiguous() for key, value in layers.items()}


def _a_lora_layer(unet):
    return next(module for module in unet.modules() if getattr(module, "lora_A", None))


@pytest.fixture(scope="module")
def source():
    """The model the test's LoRAs are made from (it never loads one)."""
    return load_pipeline("builtin:tiny-sd", device="cpu")


@pytest.fixture(scope="module")
def lora_file(source, tmp_path_factory):
    """A UNet LoRA of the tiny UNet, saved as diffusers saves LoRAs."""
    folder = tmp_path_factory.mktemp("lora")
    layers = _lora_layers(source.unet, ATTENTION, 0)
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=layers, safe_serialization=True
    )
    return folder / "pytorch_lora_weights.safetensors"


@pytest.fixture
def frames_of(pipe, tmp_path):
    def render(pipeline=None, **values) -> np.ndarray:
        session = RenderSession(
            output_dir=tmp_path / "outputs",
            device="cpu",
            pipeline=pipeline or pipe,
            **{**TINY, **values},
        )
        return np.stack([pixels(frame.image) for frame in session.render_frames()])

    return render


@pytest.fixture(scope="module")
def plain(pipe, tmp_path_factory):
    """The 4 frames without LoRA."""
    session = RenderSession(
        output_dir=tmp_path_factory.mktemp("plain"), device="cpu", pipeline=pipe, **TINY
    )
    return np.stack([pixels(frame.image) for frame in session.render_frames()])


def _difference(frames: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Each frame's mean absolute difference from the frame without LoRA (of 255)."""
    return np.abs(frames - plain).mean(axis=(1, 2, 3))


def test_scale_0_is_no_lora_and_scale_1_differs(frames_of, plain, lora_file):
    off = frames_of(lora=f"{lora_file} @ 0")
    assert np.abs(off - plain).max() <= 1
    on = frames_of(lora=f"{lora_file} @ 1")
    assert _difference(on, plain).min() > 1
    stronger = frames_of(lora=str(lora_file.parent))  # the folder's one file; scale 1
    assert np.array_equal(stronger, on)


def test_a_scale_curve_changes_the_frames_more_and_more(frames_of, plain, lora_file):
    rising = frames_of(lora=f"{lora_file} @ 0: (0), 3: (1)")
    difference = _difference(rising, plain)
    assert difference[0] <= 1 / 255
    assert all(a < b for a, b in itertools.pairwise(difference)), difference
    full = frames_of(lora=f"{lora_file} @ 1")
    assert np.abs(rising[-1] - full[-1]).max() <= 1  # frame 3 is at scale 1


def test_batch_size_does_not_change_lora_frames(frames_of, lora_file):
    lora = f"{lora_file} @ 0: (0), 1: (0.5), 3: (1)"
    one = frames_of(lora=lora, batch_size=1)
    three = frames_of(lora=lora, batch_size=3)
    assert np.abs(one - three).max() <= 1


def test_each_call_has_one_scale_of_each_adapter(pipe, lora_file, monkeypatch, tmp_path):
    """Batches split where a scale changes, and the adapter is on only during a call."""
    values = {**TINY, "lora": f"{lora_file} @ 0: (1), 1: (1), 2: (0.5)", "batch_size": 3}
    job = prepare_job(RenderSpec.from_settings(Settings(**values)), pipe, torch.device("cpu"))
    assert call_groups(job, None) == [[0, 1], [2, 3]]
    (name,) = job.lora.names
    layer = _a_lora_layer(pipe.unet)
    calls = []
    original = type(pipe).__call__

    @functools.wraps(original)  # the pipeline's signature, which the render reads
    def spy(self, **kwargs):
        calls.append((len(kwargs["generator"]), layer.scaling[name], layer.disable_adapters))
        return original(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    session = RenderSession(output_dir=tmp_path, device="cpu", pipeline=pipe, **values)
    list(session.render_frames())
    assert calls == [(2, 1.0, False), (2, 0.5, False)]
    assert layer.disable_adapters  # off after the render


def test_two_adapters_and_dropping_them(source, pipe, frames_of, plain, lora_file, tmp_path):
    other = tmp_path / "other.safetensors"
    save_file(_renamed(_lora_layers(source.unet, ATTENTION, 1)), str(other))
    both = frames_of(lora=f"{lora_file} @ 1\n{other} @ 1")
    first = frames_of(lora=f"{lora_file} @ 1")
    assert np.abs(both - first).mean() > 0.5
    assert np.abs(frames_of(lora=f"{lora_file} @ 0\n{other} @ 0") - plain).max() <= 1
    frames_of(lora=f"{lora_file} @ 1")  # the second adapter is dropped from the pipeline
    assert len(_ours(pipe)) == 1
    assert np.array_equal(frames_of(), plain)  # without lora: none stays loaded
    assert not _ours(pipe)


def _ours(pipe) -> list[str]:
    names = [name for names in pipe.get_list_adapters().values() for name in names]
    return [name for name in names if name.startswith(ADAPTER_PREFIX)]


def test_a_lora_of_another_model_is_a_named_error(source, pipe, frames_of, plain, tmp_path):
    """Layers of other shapes, and layers the model does not have, name the line; nothing
    stays loaded."""
    layers = _renamed(_lora_layers(source.unet, ATTENTION, 3))
    wider = {  # lora_A of twice the model's input features
        key: value if "lora_B" in key else torch.cat([value, value], dim=1)
        for key, value in layers.items()
    }
    save_file(wider, str(tmp_path / "wider.safetensors"))
    with pytest.raises(SettingsError, match="does not fit this Stable Diffusion model") as info:
        frames_of(lora=f"{tmp_path / 'wider.safetensors'} @ 1")
    assert (info.value.field, info.value.line) == ("lora", 1)
    layers = _renamed(_lora_layers(source.unet, ATTENTION, 2))
    elsewhere = {key.replace("attn1", "attn7"): value for key, value in layers.items()}
    save_file(elsewhere, str(tmp_path / "elsewhere.safetensors"))
    with pytest.raises(SettingsError, match="made for another model") as info:
        frames_of(lora=f"\n{tmp_path / 'elsewhere.safetensors'} @ 1")
    assert (info.value.field, info.value.line) == ("lora", 2)
    assert not _ours(pipe)
    assert np.abs(frames_of() - plain).max() <= 1


def test_a_missing_or_pickled_file_is_a_named_error(frames_of, tmp_path):
    with pytest.raises(SettingsError, match="no such file or folder") as info:
        frames_of(lora=f"{tmp_path / 'missing.safetensors'} @ 1")
    assert (info.value.field, info.value.line) == ("lora", 1)
    pickled = tmp_path / "adapter.bin"
    pickled.write_bytes(b"not read")
    with pytest.raises(SettingsError, match="only safetensors files are loaded"):
        frames_of(lora=str(pickled))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SettingsError, match=r"holds no \.safetensors file"):
        frames_of(lora=str(tmp_path / "empty"))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(SettingsError, match="could not load") as info:
        frames_of(lora=str(broken))
    assert info.value.field == "lora"


def test_a_text_encoder_lora_scales_the_prompt_embeddings(source, frames_of, plain, tmp_path):
    """With LoRA layers in the text encoder the key-frame embeddings are made again at each
    call's scales: the last frame of a rising curve is the frame of scale 1."""
    text = _lora_layers(source.text_encoder, ["q_proj", "k_proj", "v_proj", "out_proj"], 4)
    save_file(_renamed(text, "text_encoder"), str(tmp_path / "text.safetensors"))
    lora = f"{tmp_path / 'text.safetensors'}"
    full = frames_of(lora=f"{lora} @ 1")
    assert _difference(full, plain).min() > 0.5
    rising = frames_of(lora=f"{lora} @ 0: (0), 3: (1)")
    assert np.abs(rising[0] - plain[0]).max() <= 1
    assert np.abs(rising[-1] - full[-1]).max() <= 1
    assert np.abs(frames_of(lora=f"{lora} @ 0: (0), 3: (1)", batch_size=2) - rising).max() <= 1


def test_a_family_without_lora_loading_is_named():
    pixart = load_pipeline("builtin:tiny-pixart-alpha", "PixArtAlphaPipeline", device="cpu")
    values = {**TINY, "pipeline_kwargs": {"use_resolution_binning": False}}
    settings = Settings(**values, lora="owner/name @ 1")
    with pytest.raises(SettingsError, match=r"PixArt-α pipelines .* have no LoRA") as info:
        prepare_job(RenderSpec.from_settings(settings), pixart, torch.device("cpu"))
    assert info.value.field == "lora"


@pytest.fixture(scope="module")
def animatediff():
    """A tiny AnimateDiff pipeline of its own (its UNet is the tiny SD UNet with motion)."""
    return load_pipeline("builtin:tiny-animatediff", "AnimateDiffPipeline", device="cpu")


def test_animatediff_takes_a_lora_at_one_scale(animatediff, frames_of, lora_file):
    """A window is one call: one scale of each adapter, so a changing scale is refused."""
    video = {"pipeline": animatediff, "model_id": "builtin:tiny-animatediff", "video_window": 4}
    video.update(video_overlap=0, pipeline_class="AnimateDiffPipeline")
    plain = frames_of(**video)
    assert np.abs(frames_of(**video, lora=f"{lora_file} @ 0") - plain).max() <= 1
    assert _difference(frames_of(**video, lora=f"{lora_file} @ 1"), plain).min() > 1
    with pytest.raises(SettingsError, match="one scale of each adapter") as info:
        frames_of(**video, lora=f"owner/name @ 1\n{lora_file} @ 0: (0), 3: (1)")
    assert (info.value.field, info.value.line) == ("lora", 2)


@pytest.mark.parametrize(
    ("model_id", "component"),
    [
        ("builtin:tiny-sdxl", "unet"),
        ("builtin:tiny-sd3", "transformer"),
        ("builtin:tiny-flux", "transformer"),
    ],
)
def test_other_families_load_a_lora_of_their_own_model(model_id, component, tmp_path):
    """A LoRA of the family's denoiser: scale 0 is no LoRA, scale 1 differs."""
    own = load_pipeline(model_id, device="cpu")
    model = copy.deepcopy(getattr(own, component))
    layers = _renamed(_lora_layers(model, ATTENTION, 6), component)
    save_file(layers, str(tmp_path / "own.safetensors"))
    values = {**TINY, "model_id": model_id, "guidance_scale": 3.0}

    def frames(**extra) -> np.ndarray:
        session = RenderSession(
            output_dir=tmp_path / "outputs", device="cpu", pipeline=own, **values, **extra
        )
        return np.stack([pixels(frame.image) for frame in session.render_frames()])

    plain = frames()
    assert np.abs(frames(lora=f"{tmp_path / 'own.safetensors'} @ 0") - plain).max() <= 1
    assert _difference(frames(lora=f"{tmp_path / 'own.safetensors'} @ 1"), plain).min() > 0.5


# --- hostile LoRA files and sources -----------------------------------------------------------


@pytest.mark.parametrize(("bad", "words"), [(float("nan"), "NaN"), (float("inf"), "infinity")])
def test_a_lora_holding_nan_or_infinity_is_refused_even_at_scale_0(
    bad, words, source, pipe, frames_of, plain, tmp_path
):
    """Before the check, such a file rendered blank one-colour frames at every scale."""
    layers = _renamed(_lora_layers(source.unet, ATTENTION, 4))
    key = next(key for key in layers if key.endswith("lora.up.weight"))
    layers[key] = layers[key].clone()
    layers[key][0, 0] = bad
    path = tmp_path / "damaged.safetensors"
    save_file(layers, str(path))
    for scale in ("1", "0"):
        with pytest.raises(SettingsError, match=f"holds {words} in its weights") as info:
            frames_of(lora=f"{path} @ {scale}")
        assert (info.value.field, info.value.line) == ("lora", 1)
        assert "damaged.safetensors" in info.value.message
    assert not _ours(pipe)  # nothing stays loaded: the next render is the plain one
    assert np.abs(frames_of() - plain).max() <= 1


def test_a_lora_source_that_is_no_file_is_refused_for_what_it_is(tmp_path):
    import os
    import threading

    from giffusion_nb.pipelines.lora import resolve_source

    fifo = tmp_path / "adapter.safetensors"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(tmp_path / "loop2.safetensors")
    (tmp_path / "loop2.safetensors").symlink_to(loop)
    cases = [(fifo, "a named pipe (FIFO)"), ("/dev/zero", "a character device"), (loop, "loops")]
    for path, words in cases:
        result: list[BaseException] = []
        # in a thread with a deadline: a FIFO that is opened blocks until a writer comes
        thread = threading.Thread(
            target=_refusal, args=(resolve_source, str(path), result), daemon=True
        )
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), f"{path} blocked"
        (error,) = result
        assert isinstance(error, SettingsError) and error.field == "lora", error
        assert words in error.message and "no such file" not in error.message


def _refusal(resolve, source: str, result: list) -> None:
    try:
        resolve(source, 1)
    except BaseException as exc:  # the test inspects it
        result.append(exc)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "could not load"),  # empty
        (b"\xff" * 8 + b"{}", "could not load"),  # a header of 18 EB
        (b'\x08\x00\x00\x00\x00\x00\x00\x00{"a": 1}', "could not load"),  # header cut
    ],
    ids=["empty", "absurd-header", "cut-header"],
)
def test_damaged_lora_files_are_named_errors(content, words, frames_of, pipe, tmp_path):
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(content)
    with pytest.raises(SettingsError, match=words) as info:
        frames_of(lora=str(path))
    assert (info.value.field, info.value.line) == ("lora", 1)
    assert not _ours(pipe)


def test_a_truncated_lora_is_a_named_error(lora_file, frames_of, pipe, tmp_path):
    data = lora_file.read_bytes()
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SettingsError, match="could not load") as info:
        frames_of(lora=str(path))
    assert info.value.field == "lora"
    assert not _ours(pipe)


def test_a_pickle_renamed_to_safetensors_is_never_unpickled(frames_of, pipe, tmp_path):
    import pickle

    marker = tmp_path / "pickle-ran"
    path = tmp_path / "adapter.safetensors"
    path.write_bytes(pickle.dumps(_WritesMarker(str(marker))))
    with pytest.raises(SettingsError, match="could not load") as info:
        frames_of(lora=str(path))
    assert info.value.field == "lora"
    assert not marker.exists()
    assert not _ours(pipe)


class _WritesMarker:
    """Unpickling this writes a file: the proof that a pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_thousands_of_lora_lines_stop_at_the_adapter_limit():
    from giffusion_nb.validation import check_setting

    settings = Settings(prompts="0: a\n3: b", lora="o/n\n" * 4000)
    with pytest.raises(SettingsError, match="more than 16 adapters") as info:
        check_setting(settings, "lora")
    assert (info.value.field, info.value.line) == ("lora", 17)
    settings.lora = "\n" * 9000 + "o/n @ 0.5\n" + "\n" * 9000
    check_setting(settings, "lora")  # blank lines are no adapters
    settings.lora = "o/n @ 1\n" * 3000
    with pytest.raises(SettingsError, match="24,000 characters long; at most 20,000"):
        check_setting(settings, "lora")
