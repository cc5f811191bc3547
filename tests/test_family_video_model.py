"""Video models (Wan, LTX-Video) on their tiny pipelines: windows of 4k+1 / 8k+1 frames, the
key-frame noise along the latent frames, key-frame images at their frames, resume."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from helpers import pixels, solid
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.cli import main
from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.load import load_pipeline

TINY = {"num_inference_steps": 2, "height": 64, "width": 64, "guidance_scale": 3.0}


@functools.cache
def _pipeline(model_id: str, pipeline_class: str):
    return load_pipeline(model_id, pipeline_class, device="cpu")


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("key-frame-images")
    colours = {"red": (220, 30, 30), "blue": (30, 40, 220), "green": (30, 200, 60)}
    paths = {}
    for name, colour in colours.items():
        paths[name] = str(folder / f"{name}.png")
        solid(colour).save(paths[name])
    return paths


def _session(model_id: str, pipeline_class: str, tmp_path, **values) -> RenderSession:
    pipe = _pipeline(model_id, pipeline_class)
    return RenderSession(output_dir=tmp_path, device="cpu", pipeline=pipe, **{**TINY, **values})


def _frames(model_id: str, pipeline_class: str, tmp_path, **values) -> list[np.ndarray]:
    session = _session(model_id, pipeline_class, tmp_path, **values)
    return [pixels(frame.image) for frame in session.render_frames()]


def _recorded_calls(pipe, monkeypatch) -> list[dict]:
    """Every call's arguments, recorded on their way into the pipeline."""
    calls = []
    call = type(pipe).__call__

    @functools.wraps(call)
    def recording(self, *args, **kwargs):
        calls.append(kwargs)
        return call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", recording)
    return calls


def test_wan_travels_across_the_planned_frames_and_renders_them_again_alike(tmp_path):
    prompts = "0: a red circle\n8: a blue square"
    first = _frames("builtin:tiny-wan", "WanPipeline", tmp_path, prompts=prompts)
    assert len(first) == 9 and first[0].shape == (64, 64, 3)
    assert np.abs(first[8] - first[0]).mean() > 1
    again = _frames("builtin:tiny-wan", "WanPipeline", tmp_path, prompts=prompts)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other_end = _frames(
        "builtin:tiny-wan", "WanPipeline", tmp_path, prompts="0: a red circle\n8: a green cat"
    )
    assert not np.array_equal(first[4], other_end[4])  # the window's prompt travels


def test_the_noise_travels_along_the_latent_frames(tmp_path, monkeypatch):
    """Latent frame j of a 9-frame Wan call (3 latent frames) is pixel frame 4j's noise:
    frame 0 is key frame 0's seed, frame 8 key frame 8's."""
    pipe = _pipeline("builtin:tiny-wan", "WanPipeline")
    seen = []  # the transformer's input at each step: at the first, the drawn noise

    def record(module, args, kwargs):
        seen.append(kwargs["hidden_states"].detach().clone())

    hook = pipe.transformer.register_forward_pre_hook(record, with_kwargs=True)
    try:
        for fixed in (False, True):
            frames = _frames(
                "builtin:tiny-wan",
                "WanPipeline",
                tmp_path,
                prompts="0: a\n8: b",
                seed=5,
                guidance_scale=1.0,  # one transformer call a step
                use_fixed_latent=fixed,
            )
            assert len(frames) == 9
    finally:
        hook.remove()
    drawn = [seen[0], seen[len(seen) // 2]]  # the first step of each render
    (travelling, fixed) = drawn
    assert travelling.shape[2] == 3  # (1, C, latent frames, h, w)
    assert np.allclose(travelling[:, :, 0], fixed[:, :, 0])  # key frame 0: the seed's noise
    assert not np.allclose(travelling[:, :, 2], fixed[:, :, 2])  # key frame 8: its own
    assert np.allclose(fixed[:, :, 0], fixed[:, :, 2])  # a fixed latent: one noise


def test_a_stopped_ltx_render_resumes_to_the_uninterrupted_frames(tmp_path, capsys):
    """Three windows of 9 frames (overlap 2) over 17 frames: the frames of the last two
    windows deleted and rendered again from the command line are the same."""
    settings = {
        "model_id": "builtin:tiny-ltx",
        "pipeline_class": "LTXPipeline",
        "prompts": "0: a red circle\n16: a blue square",
        "video_window": "9",
        "video_overlap": "2",
        **{name: str(value) for name, value in TINY.items()},
    }
    arguments = ["render", "--quiet", "--output-dir", str(tmp_path)]
    for name, value in settings.items():
        arguments += ["--set", f"{name}={value}"]
    assert main(arguments) == 0, capsys.readouterr().err
    output = Path(capsys.readouterr().out.strip().splitlines()[-1])
    frames = sorted((output.parent / "frames").glob("*.png"))
    assert len(frames) == 17
    reference = [pixels(Image.open(path)) for path in frames]
    for path in frames[7:]:
        path.unlink()
    output.unlink()
    assert main(["render", "--quiet", "--resume", str(output.parent)]) == 0
    resumed = [pixels(Image.open(path)) for path in frames]
    for index, (a, b) in enumerate(zip(reference, resumed, strict=True)):
        assert np.abs(a - b).max() <= 1, f"frame {index}"
    with Image.open(output) as gif:
        assert gif.n_frames == 17


def test_first_last_frame_calls_get_the_images_of_their_segment(pictures, tmp_path, monkeypatch):
    pipe = _pipeline("builtin:tiny-wan-flf", "WanImageToVideoPipeline")
    calls = _recorded_calls(pipe, monkeypatch)
    prompts = (
        f"0: a red circle --image {pictures['red']}\n"
        f"4: a blue square --image {pictures['blue']}\n"
        f"8: a green cat --image {pictures['green']}"
    )
    first = _frames("builtin:tiny-wan-flf", "WanImageToVideoPipeline", tmp_path, prompts=prompts)
    assert len(first) == 9
    assert [call["num_frames"] for call in calls] == [5, 5]  # frames 0-4 and 4-8
    colours = [
        (pixels(call["image"])[0, 0].tolist(), pixels(call["last_image"])[0, 0].tolist())
        for call in calls
    ]
    assert colours == [([220, 30, 30], [30, 40, 220]), ([30, 40, 220], [30, 200, 60])]
    # Another picture at frame 8 changes the segment 4-8 only.
    changed = _frames(
        "builtin:tiny-wan-flf",
        "WanImageToVideoPipeline",
        tmp_path,
        prompts=prompts.replace(pictures["green"], pictures["red"]),
    )
    assert all(np.array_equal(a, b) for a, b in zip(first[:4], changed[:4], strict=True))
    assert max(np.abs(a - b).max() for a, b in zip(first[4:], changed[4:], strict=True)) > 2


def test_ltx_conditions_meet_each_image_at_its_frame(pictures, tmp_path, monkeypatch):
    pipe = _pipeline("builtin:tiny-ltx", "LTXConditionPipeline")
    calls = _recorded_calls(pipe, monkeypatch)
    prompts = (
        f"0: a red circle --image {pictures['red']}\n8: a blue square --image {pictures['blue']}"
    )
    frames = _frames("builtin:tiny-ltx", "LTXConditionPipeline", tmp_path, prompts=prompts)
    assert len(frames) == 9
    (call,) = calls
    conditions = [(c.frame_index, pixels(c.image)[0, 0].tolist()) for c in call["conditions"]]
    assert conditions == [(0, [220, 30, 30]), (8, [30, 40, 220])]


def test_key_frames_painted_by_an_image_model_are_the_ends_of_their_segments(
    pictures, tmp_path, monkeypatch
):
    pipe = _pipeline("builtin:tiny-wan-flf", "WanImageToVideoPipeline")
    calls = _recorded_calls(pipe, monkeypatch)
    values = {
        "prompts": f"0: a red circle\n4: a blue square --image {pictures['blue']}\n8: a cat",
        "key_frame_model": "builtin:tiny-sd",
    }
    first = _frames("builtin:tiny-wan-flf", "WanImageToVideoPipeline", tmp_path, **values)
    assert len(first) == 9 and len(calls) == 2
    painted_0, given_4 = pixels(calls[0]["image"]), pixels(calls[0]["last_image"])
    assert given_4[0, 0].tolist() == [30, 40, 220]  # the user's picture is kept
    assert np.array_equal(pixels(calls[1]["image"]), given_4)
    painted_8 = pixels(calls[1]["last_image"])
    assert painted_0.shape == painted_8.shape == (64, 64, 3)
    assert np.abs(painted_0 - painted_8).mean() > 1  # each key frame's own prompt and seed
    again = _frames("builtin:tiny-wan-flf", "WanImageToVideoPipeline", tmp_path, **values)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert np.array_equal(pixels(calls[2]["image"]), painted_0)  # painted alike again


def test_a_conditioned_window_starts_from_the_last_frame_of_the_one_before(
    pictures, tmp_path, monkeypatch
):
    """video_join condition: 17 frames in windows of 9; the second window (frames 8-16) gets
    frame 8 as rendered by the first as a condition at its index 0, beside the key-frame
    image at frame 16 (its index 8)."""
    pipe = _pipeline("builtin:tiny-ltx", "LTXConditionPipeline")
    calls = _recorded_calls(pipe, monkeypatch)
    values = {
        "prompts": f"0: a red circle\n16: a blue square --image {pictures['blue']}",
        "video_window": 9,
        "video_join": "condition",
    }
    frames = _frames("builtin:tiny-ltx", "LTXConditionPipeline", tmp_path, **values)
    assert len(frames) == 17 and len(calls) == 2
    assert "conditions" not in calls[0]  # frame 16's picture is not in frames 0-8
    (start, key_frame) = calls[1]["conditions"]
    assert (start.frame_index, key_frame.frame_index) == (0, 8)
    np.testing.assert_array_equal(pixels(start.image), frames[8])
    assert pixels(key_frame.image)[0, 0].tolist() == [30, 40, 220]


def test_a_conditioned_render_resumes_from_the_saved_frame_before(tmp_path, capsys):
    settings = [
        "model_id=builtin:tiny-ltx",
        "pipeline_class=LTXConditionPipeline",
        "prompts=0: a red circle\n16: a blue square",
        "video_window=9",
        "video_join=condition",
        *(f"{name}={value}" for name, value in TINY.items()),
    ]
    arguments = ["render", "--quiet", "--output-dir", str(tmp_path)]
    for value in settings:
        arguments += ["--set", value]
    assert main(arguments) == 0, capsys.readouterr().err
    output = Path(capsys.readouterr().out.strip().splitlines()[-1])
    frames = sorted((output.parent / "frames").glob("*.png"))
    reference = [pixels(Image.open(path)) for path in frames]
    for path in frames[9:]:  # the second window's frames: it starts from the saved frame 8
        path.unlink()
    output.unlink()
    assert main(["render", "--quiet", "--resume", str(output.parent)]) == 0
    resumed = [pixels(Image.open(path)) for path in frames]
    assert all(np.array_equal(a, b) for a, b in zip(reference, resumed, strict=True))


# --- what cannot be rendered is named ---------------------------------------------------------


def test_a_frame_count_the_model_cannot_take_names_the_key_frame_and_nearest_ones(tmp_path):
    with pytest.raises(SettingsError, match=r"4k\+1 frames a call: end at frame 8 or 12") as info:
        _frames("builtin:tiny-wan", "WanPipeline", tmp_path, prompts="0: a\n10: b")
    assert info.value.field == "prompts"
    with pytest.raises(SettingsError, match=r"use 9 or 13") as info:
        _frames("builtin:tiny-wan", "WanPipeline", tmp_path, prompts="0: a\n20: b", video_window=10)
    assert info.value.field == "video_window"
    with pytest.raises(SettingsError, match="renders a window of frames in one call") as info:
        _frames(
            "builtin:tiny-wan",
            "WanPipeline",
            tmp_path,
            prompts="0: a\n8: b",
            diffusion_cadence=2,
            cadence_warp="flow",
        )
    assert info.value.field == "diffusion_cadence"


def test_a_segment_that_does_not_fit_names_its_key_frame(pictures, tmp_path):
    prompts = f"0: a --image {pictures['red']}\n6: b --image {pictures['blue']}"
    with pytest.raises(SettingsError, match="key frame 6 makes a segment of 7 frames") as info:
        _frames("builtin:tiny-wan-flf", "WanImageToVideoPipeline", tmp_path, prompts=prompts)
    assert "put it at frame 4 or 8" in info.value.message


def test_key_frame_images_that_cannot_be_used_are_named_by_line(pictures, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(SettingsError, match="the image of key frame 8") as info:
        _session(
            "builtin:tiny-wan-flf",
            "WanImageToVideoPipeline",
            tmp_path,
            prompts=f"0: a --image {pictures['red']}\n8: b --image {broken}",
        ).spec()
    assert (info.value.field, info.value.line) == ("prompts", 2)
    with pytest.raises(SettingsError, match="takes no key-frame images") as info:
        _frames(
            "builtin:tiny-wan",
            "WanPipeline",
            tmp_path,
            prompts=f"0: a\n8: b --image {pictures['red']}",
        )
    assert info.value.line == 2
    with pytest.raises(SettingsError, match="takes no key-frame images to paint") as info:
        _frames(
            "builtin:tiny-wan",
            "WanPipeline",
            tmp_path,
            prompts="0: a\n8: b",
            key_frame_model="builtin:tiny-sd",
        )
    assert info.value.field == "key_frame_model"
    with pytest.raises(SettingsError, match="takes no `conditions`") as info:
        _frames(
            "builtin:tiny-wan",
            "WanPipeline",
            tmp_path,
            prompts="0: a\n8: b",
            video_join="condition",
        )
    assert info.value.field == "video_join"
    with pytest.raises(SettingsError, match="give key frame 0 an image"):
        _frames(
            "builtin:tiny-wan-flf",
            "WanImageToVideoPipeline",
            tmp_path,
            prompts=f"0: a\n8: b --image {pictures['red']}",
        )


def test_a_large_window_is_decoded_in_tiles():
    from giffusion_nb.pipelines.load import fit_vae_to_frames

    pipe = load_pipeline("builtin:tiny-ltx", "LTXPipeline", device="cpu")  # a copy of its own
    fit_vae_to_frames(pipe, 512, 512, frames=1)
    assert not pipe.vae.use_tiling
    fit_vae_to_frames(pipe, 512, 512, frames=9)  # 2.4 megapixels a call
    assert pipe.vae.use_tiling
