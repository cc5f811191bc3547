"""The bad-input table: every field, given something wrong, answers with the project's error,
naming the field and saying what was expected (hostile text: ``test_hostile_text.py``)."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import pytest
from helpers import write_clicks, write_video
from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.limits import LongNumber
from giffusion_nb.settings import Settings

# (values, field, words): values may name files by "<name>", replaced by the fixture's files.
TABLE = [
    # prompts
    ({"prompts": ""}, "prompts", "at least one line"),
    ({"prompts": "a corgi"}, "prompts", "no colon"),
    ({"prompts": "x: a corgi"}, "prompts", "non-negative integer"),
    ({"prompts": "-1: a corgi"}, "prompts", "negative"),
    ({"prompts": "1.5: a corgi"}, "prompts", "non-negative integer"),
    ({"prompts": "0: a\n0: b"}, "prompts", "appears twice"),
    ({"prompts": "0:   "}, "prompts", "empty prompt"),
    ({"prompts": "5000000: a corgi"}, "prompts", "too large"),
    ({"prompts": 12}, "prompts", "expected text"),
    ({"prompts": "0: a corgi " * 1_000_000}, "prompts", "expected at most 200,000"),  # 11 MB
    ({"prompts": "0: " + "a corgi " * 2000}, "prompts", "expected at most 10,000 (CLIP"),
    (
        {"prompts": "".join(f"{i}: a\n" for i in range(10_001))},
        "prompts",
        "more than 10,000 key frames",
    ),
    ({"prompts": "1" * 5000 + ": a corgi"}, "prompts", "too large (at most 1000000)"),
    # prompt weights and key-frame negative prompts
    ({"prompts": "0: a (red fox"}, "prompts", "is never closed"),
    ({"prompts": "0: a [red fox)"}, "prompts", "closes no '('"),
    ({"prompts": "0: a (red:12) fox"}, "prompts", "weight 12 is outside 0 to 10"),
    ({"prompts": "0: a lion --neg"}, "prompts", "no negative prompt after it"),
    ({"prompts": "0: a\n2: b --neg dark", "guidance_scale": 1.0}, "prompts", "no effect without"),
    ({"prompts": "0: a (red:nan) fox"}, "prompts", "weight 'nan' is not a decimal number"),
    ({"prompts": "0: a (red:-Infinity) fox"}, "prompts", "weight '-Infinity' is not"),
    ({"prompts": "0: a (red:1e3) fox"}, "prompts", "weight '1e3' is not a decimal"),
    ({"prompts": "0: a (red:1" + "0" * 400 + ") fox"}, "prompts", "(401 characters) is outside"),
    ({"prompts": "0: a " + "(" * 4990 + "fox" + ")" * 4990}, "prompts", "nested brackets"),
    ({"prompts": "0: a --neg --neg b"}, "prompts", "`--neg` 2 times"),
    ({"prompts": "0: --neg blurry"}, "prompts", "empty prompt"),
    ({"prompts": "0: a lion --neg (dark"}, "prompts", "of the negative prompt: '(' is never"),
    # text that is no text: a lone UTF-16 surrogate (valid JSON: "\ud800"), a tokenizer TypeError
    ({"prompts": "0: a fox\n2: a \ud800 lion"}, "prompts", "U+D800, a lone UTF-16 surrogate"),
    ({"prompts": "0: a fox --neg \udc80"}, "prompts", "lone UTF-16 surrogate"),
    ({"prompts": "0: (red:1.2)", "use_prompt_embeds": False}, "prompts", "use_prompt_embeds on"),
    # negative prompt
    ({"negative_prompt": "(blurry"}, "negative_prompt", "is never closed"),
    ({"negative_prompt": "x" * 10_001}, "negative_prompt", "too long"),
    ({"negative_prompt": ["blurry"]}, "negative_prompt", "expected text"),
    ({"negative_prompt": "blurry \ud83d"}, "negative_prompt", "lone UTF-16 surrogate"),
    ({"negative_prompt": "blurry", "guidance_scale": 1.0}, "negative_prompt", "no effect"),
    # curves
    ({"zoom": "0: (1.0"}, "zoom", "expected"),
    ({"zoom": "0: (0.5), 3: (-1)"}, "zoom", "expected a value > 0"),
    ({"angle": "0: (foo)"}, "angle", "unknown name 'foo'"),
    ({"angle": "0 (1)"}, "angle", "expected"),
    ({"translate_x": "0: (1/0)"}, "translate_x", "division by zero"),
    ({"translate_x": "0: (1), 0: (2)"}, "translate_x", "appears twice"),
    ({"translate_y": "0: (" + "(" * 60 + "1" + ")" * 60 + ")"}, "translate_y", "nest"),
    ({"translate_y": "0: (__import__)"}, "translate_y", "unknown name"),
    ({"perspective_flip_theta": "0: (roll)"}, "perspective_flip_theta", "unknown name 'roll'"),
    ({"perspective_flip_phi": "0: (0), 2: (90)"}, "perspective_flip_phi", "frame 2 turns"),
    ({"perspective_flip_gamma": "-120"}, "perspective_flip_gamma", "between -90 and 90"),
    (
        {"perspective_flip_fv": "0: (180)", "perspective_flip_phi": "0: (5)"},
        "perspective_flip_fv",
        "less than 180",
    ),
    ({"perspective_flip_fv": "60"}, "perspective_flip_fv", "no angle of it is set"),
    ({"strength": "0: (0.5), 2: (1.5)"}, "strength", "[0, 1]"),
    ({"strength": 1.5}, "strength", "between 0.0 and 1.0"),
    ({"strength": "0: (sqrt(-1))"}, "strength", "math domain error"),
    # interpolation
    ({"interpolation_type": "cubic"}, "interpolation_type", "expected one of linear"),
    ({"pacing": "steady"}, "pacing", "expected one of schedule, even"),
    ({"pacing": "even", "angle": "0: (2)"}, "pacing", "2D motion"),
    ({"interpolation_type": "audio"}, "interpolation_type", "audio"),
    ({"interpolation_type": "sine", "interpolation_args": "1, x"}, "interpolation_args", ""),
    ({"interpolation_type": "sine", "interpolation_args": "-1"}, "interpolation_args", ""),
    ({"interpolation_type": "curve", "interpolation_args": "0: (2)"}, "interpolation_args", ""),
    ({"interpolation_type": "curve", "interpolation_args": "zero"}, "interpolation_args", ""),
    # scheduler
    ({"scheduler": "Eulerish"}, "scheduler", "unknown scheduler"),
    ({"scheduler": "Euler", "scheduler_kwargs": {"no_option": 1}}, "scheduler_kwargs", "no option"),
    ({"scheduler_kwargs": "{bad json"}, "scheduler_kwargs", "invalid JSON"),
    ({"scheduler_kwargs": "[1]"}, "scheduler_kwargs", "JSON object"),
    ({"scheduler": "DDIM", "scheduler_kwargs": {"beta_schedule": "nope"}}, "scheduler_kwargs", ""),
    (
        {"scheduler_kwargs": '{"steps_offset": 1' + "0" * 5000 + "}"},
        "scheduler_kwargs",
        "'steps_of",
    ),
    ({"scheduler_kwargs": {"a": [1, 10**5000]}}, "scheduler_kwargs", "'a'[1] is a number of"),
    # non-finite numbers: they turned every frame into one colour, silently
    ({"scheduler_kwargs": '{"beta_start": NaN}'}, "scheduler_kwargs", "'beta_start' is nan"),
    ({"scheduler_kwargs": {"beta_end": float("inf")}}, "scheduler_kwargs", "'beta_end' is inf"),
    ({"pipeline_kwargs": '{"guidance_rescale": Infinity}'}, "pipeline_kwargs", "is inf; expected"),
    (
        {"pipeline_kwargs": '{"cross_attention_kwargs": {"scale": 1e400}}'},
        "pipeline_kwargs",
        "'cross_attention_kwargs'['scale'] is inf",
    ),
    ({"guidance_scale": float("nan")}, "guidance_scale", "expected a finite number"),
    ({"strength": "Infinity"}, "strength", ""),
    # JSON that loses or hides a value
    ({"pipeline_kwargs": '{"eta": 0.1,\n"eta": 0.2}'}, "pipeline_kwargs", "'eta' appears twice"),
    ({"scheduler_kwargs": '{"a": ' + "[" * 40 + "]" * 40 + "}"}, "scheduler_kwargs", "than 32"),
    ({"pipeline_kwargs": {"a": "\ud800"}}, "pipeline_kwargs", "lone UTF-16 surrogate"),
    # options a scheduler takes but cannot render with: found by a dry run before any frame
    (
        {"scheduler": "DDIM", "scheduler_kwargs": {"steps_offset": 5000}},
        "scheduler_kwargs",
        "Index",
    ),
    ({"scheduler_kwargs": {"num_train_timesteps": 1}}, "scheduler_kwargs", "fails at 2 steps"),
    # pipeline, model, ControlNet, extra arguments
    ({"pipeline_class": "os.system"}, "pipeline_class", "pipeline class name"),
    ({"pipeline_class": "AutoencoderKL"}, "pipeline_class", "not a diffusers pipeline"),
    ({"pipeline_class": "StableDiffusionPipelin"}, "pipeline_class", "did you mean"),
    ({"model_id": "  "}, "model_id", "must not be empty"),
    ({"model_id": "<missing>"}, "model_id", "there is no folder"),
    ({"model_id": "builtin:huge-sd"}, "model_id", "unknown built-in model"),
    ({"controlnet_ids": ["<missing>"]}, "controlnet_ids", "could not load ControlNet"),
    ({"controlnet_ids": 5}, "controlnet_ids", "list of names"),
    ({"motion_adapter_id": "<missing>"}, "motion_adapter_id", "takes no motion adapter"),
    # LoRA adapters
    ({"lora": "/no/such/ink.safetensors @ 1"}, "lora", "no such file or folder"),
    ({"lora": "<text.png>"}, "lora", "only safetensors files are loaded"),
    ({"lora": "<text.safetensors>"}, "lora", "could not load"),
    ({"lora": "owner/name @ 0: (0), 2: (5)"}, "lora", "expected a value in [-4, 4]"),
    ({"lora": "owner/name @ 0: (x)"}, "lora", "unknown name 'x'"),
    ({"lora": " @ 1"}, "lora", "expected an adapter before '@'"),
    ({"lora": "/dev/zero @ 1"}, "lora", "is a character device, not a file"),
    ({"lora": "owner/name\ud800 @ 1"}, "lora", "lone UTF-16 surrogate"),
    ({"lora": "owner/name @ nan"}, "lora", ""),
    ({"model_id": "owner/\udcff"}, "model_id", "lone UTF-16 surrogate"),
    ({"controlnet_ids": ["\ud800"]}, "controlnet_ids", "lone UTF-16 surrogate"),
    ({"pipeline_kwargs": {"not_an_argument": 1}}, "pipeline_kwargs", "does not take"),
    ({"pipeline_kwargs": {"guidance_rescale": "high"}}, "pipeline_kwargs", "expects a number"),
    ({"pipeline_kwargs": {"latents": None}}, "pipeline_kwargs", "set by giffusion_nb"),
    ({"pipeline_kwargs": "nope"}, "pipeline_kwargs", "invalid JSON"),
    # sizes, steps, guidance, seed, batch, channels
    ({"height": 60}, "height", "divisible by 8"),
    ({"width": 8192}, "width", "between 16 and 4096"),
    ({"height": "tall"}, "height", "expected an integer"),
    ({"num_inference_steps": 0}, "num_inference_steps", "between 1 and 1000"),
    ({"num_inference_steps": 2.5}, "num_inference_steps", "expected an integer"),
    ({"guidance_scale": -2}, "guidance_scale", "between"),
    ({"guidance_scale": "high"}, "guidance_scale", "expected a key frame number"),
    ({"seed": -1}, "seed", "between 0"),
    ({"seed": "lucky"}, "seed", "expected an integer"),
    ({"seed": "7" * 5000}, "seed", "5000 digits; expected at most 30"),  # `--set seed=777…`
    ({"seed": 10**5000}, "seed", "5001 digits; expected at most 30"),
    ({"num_inference_steps": LongNumber(5000)}, "num_inference_steps", "5000 digits"),  # JSON
    ({"guidance_scale": 10**5000}, "guidance_scale", "5001 digits"),
    ({"batch_size": 0}, "batch_size", "between 1 and 64"),
    ({"batch_size": 1000}, "batch_size", "between 1 and 64"),
    ({"video_window": 1}, "video_window", "between 2 and 1024"),
    ({"video_window": "sixteen"}, "video_window", "expected an integer"),
    ({"video_window": 8, "video_overlap": 8}, "video_overlap", "smaller than video_window"),
    ({"video_overlap": -1}, "video_overlap", "between 0 and 1023"),
    ({"num_latent_channels": 3}, "num_latent_channels", "4 latent channels"),
    ({"num_latent_channels": 0}, "num_latent_channels", "between"),
    # output
    ({"fps": 0}, "fps", "between 1 and 120"),
    ({"fps": 500}, "fps", "between 1 and 120"),
    ({"output_format": "avi"}, "output_format", "expected one of gif, mp4"),
    ({"use_fixed_latent": "maybe"}, "use_fixed_latent", "true or false"),
    ({"comet_frame_stride": 0}, "comet_frame_stride", "between 1"),
    ({"workers": 0}, "workers", "between 1"),
    ({"cpu_offload": "maybe"}, "cpu_offload", "true or false"),
    ({"compile_unet": 3}, "compile_unet", "true or false"),
    ({"padding_mode": "wrap"}, "padding_mode", ""),
    ({"audio_component": "drums"}, "audio_component", "percussive"),
    ({"audio_key_frames": "every 0 beats"}, "audio_key_frames", "expected every 1 to"),
    ({"key_frame_model": "builtin:tiny-sd"}, "key_frame_model", "takes no key-frame images"),
    ({"mel_reduce": "sum"}, "mel_reduce", "max"),
    ({"video_join": "glue"}, "video_join", "expected one of overlap, condition"),
    ({"audio_key_frames": "3 bananas"}, "audio_key_frames", "expected onsets, beats"),
    # the animator's toolkit
    ({"color_coherence": "previous"}, "color_coherence", "needs 2D motion"),
    ({"color_coherence_space": "cmyk"}, "color_coherence_space", "expected one of lab"),
    ({"color_coherence": "image"}, "color_coherence_image", "choose the image"),
    ({"color_coherence_image": "/no/such.png"}, "color_coherence_image", "does not read it"),
    ({"diffusion_cadence": 4}, "cadence_warp", "without 2D motion"),
    ({"diffusion_cadence": 0, "zoom": "0: (1.02)"}, "diffusion_cadence", "between 1 and 100"),
    ({"cadence_warp": "optical"}, "cadence_warp", "expected one of motion, flow"),
    ({"optical_flow": "raft"}, "optical_flow", "expected one of dis, farneback"),
    ({"interpolate_frames": 5}, "interpolate_frames", "at most 50 frames/s"),
    ({"seed_behavior": "up"}, "seed_behavior", "expected one of iter"),
    ({"seed_iter_n": 0}, "seed_iter_n", "between 1"),
    ({"seed_behavior": "schedule"}, "seed_schedule", "give seeds like"),
    ({"num_inference_steps": "0: (20), 2: (0)"}, "num_inference_steps", "frame 2 has 0"),
    ({"guidance_scale": "0: (7), 2: (200)"}, "guidance_scale", "frame 1 has 103.5"),
    ({"noise_schedule": "0: (0.02)"}, "noise_schedule", "no frame moves"),
    ({"noise_schedule": "0: (-0.1)", "zoom": "1.01"}, "noise_schedule", "frame 0 has -0.1"),
    ({"contrast_schedule": "0: (1), 2: (0)", "zoom": "1.01"}, "contrast_schedule", "above 0"),
    ({"anti_blur_amount": "0: (x)", "zoom": "1.01"}, "anti_blur_amount", "position 4"),
    ({"anti_blur_sigma": "0", "anti_blur_amount": "1", "zoom": "1.01"}, "anti_blur_sigma", "above"),
    ({"anti_blur_sigma": "2", "zoom": "1.01"}, "anti_blur_sigma", "anti_blur_amount is empty"),
    ({"anti_blur_kernel": "6", "anti_blur_amount": "1", "zoom": "1.01"}, "anti_blur_kernel", "odd"),
    ({"anti_blur_threshold": "0: (-1)"}, "anti_blur_threshold", "frame 0 has -1"),
    # files: missing, empty, truncated, wrong kind, huge
    ({"image_input": "/no/such.png"}, "image_input", "no such file"),
    ({"image_input": "/dev/zero"}, "image_input", "is a character device, not a file"),
    ({"audio_input": "<fifo.wav>"}, "audio_input", "is a named pipe (FIFO), not a file"),
    ({"video_input": "<loop.mp4>"}, "video_input", "is a symbolic link that loops"),
    ({"image_input": "<empty.png>"}, "image_input", "empty"),
    ({"image_input": "<truncated.png>"}, "image_input", ""),
    ({"image_input": "<text.png>"}, "image_input", ""),
    ({"image_input": "<huge.png>"}, "image_input", "pixels, expected at most"),
    ({"video_input": "<empty.mp4>"}, "video_input", "empty"),
    ({"video_input": "<truncated.mp4>"}, "video_input", ""),
    ({"video_input": "<text.mp4>"}, "video_input", ""),
    ({"video_input": "<clicks.wav>"}, "video_input", "no video stream"),
    ({"video_input": "<short.mp4>"}, "video_input", "has 2 frames"),
    ({"image_input": "<ok.png>", "video_input": "<short.mp4>"}, "video_input", "not both"),
    ({"audio_input": "<empty.wav>", "interpolation_type": "audio"}, "audio_input", "empty"),
    ({"audio_input": "<truncated.wav>", "interpolation_type": "audio"}, "audio_input", ""),
    ({"audio_input": "<text.wav>", "interpolation_type": "audio"}, "audio_input", ""),
    ({"audio_input": "<long.wav>", "interpolation_type": "audio"}, "audio_input", "at most 1800"),
    ({"audio_input": "<rate1.wav>", "interpolation_type": "audio"}, "audio_input", "of 1 Hz"),
    # every named input is checked, used or not: a GIF with a linear schedule takes no audio
    ({"audio_input": "<text.mp3>"}, "audio_input", "could not be read"),
    ({"audio_input": "<text.mp3>", "output_format": "mp4"}, "audio_input", "could not be read"),
    ({"image_input": "<truncated.png>", "interpolation_type": "sine"}, "image_input", "truncated"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {name: folder / name for name in ("empty.png", "empty.mp4", "empty.wav")}
    for path in files.values():
        path.write_bytes(b"")
    for name in ("text.png", "text.mp4", "text.wav", "text.safetensors"):
        files[name] = folder / name
        files[name].write_text("just some text, not media\n" * 20)
    Image.new("RGB", (64, 64), (10, 20, 30)).save(folder / "ok.png")
    files["ok.png"] = folder / "ok.png"
    files["truncated.png"] = folder / "truncated.png"
    files["truncated.png"].write_bytes((folder / "ok.png").read_bytes()[:60])
    Image.new("L", (5000, 3500)).save(folder / "huge.png")
    files["huge.png"] = folder / "huge.png"
    video = write_video(folder / "video.mp4", num_frames=12)
    files["truncated.mp4"] = folder / "truncated.mp4"
    files["truncated.mp4"].write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    files["short.mp4"] = write_video(folder / "short.mp4", num_frames=2)
    files["clicks.wav"] = write_clicks(folder / "clicks.wav", [0.2], duration=1.0)
    files["truncated.wav"] = folder / "truncated.wav"
    files["truncated.wav"].write_bytes(files["clicks.wav"].read_bytes()[:30])
    files["long.wav"] = folder / "long.wav"
    with wave.open(str(files["long.wav"]), "wb") as long_wav:
        long_wav.setnchannels(1)
        long_wav.setsampwidth(1)
        long_wav.setframerate(4000)  # the lowest sample rate accepted
        long_wav.writeframes(bytes(31 * 60 * 4000))
    files["rate1.wav"] = folder / "rate1.wav"  # 3.6 KB, an hour at 1 sample a second
    with wave.open(str(files["rate1.wav"]), "wb") as slow_wav:
        slow_wav.setnchannels(1)
        slow_wav.setsampwidth(1)
        slow_wav.setframerate(1)
        slow_wav.writeframes(bytes(3600))
    files["text.mp3"] = folder / "text.mp3"
    files["text.mp3"].write_text("ID3? no, just text\n" * 50)
    files["missing"] = folder / "no-such-model"
    files["fifo.wav"] = folder / "fifo.wav"
    os.mkfifo(files["fifo.wav"])  # no writer: opening it would wait forever
    files["loop.mp4"] = folder / "loop.mp4"
    files["loop.mp4"].symlink_to(folder / "loop-2.mp4")
    (folder / "loop-2.mp4").symlink_to(files["loop.mp4"])
    return files


def _resolve(values: dict, files: dict[str, Path]) -> dict:
    def one(value):
        if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
            return str(files[value[1:-1]])
        if isinstance(value, list):
            return [one(item) for item in value]
        return value

    return {name: one(value) for name, value in values.items()}


def test_the_table_covers_every_field_and_60_inputs():
    fields = {field for _values, field, _words in TABLE}
    assert len(TABLE) >= 60
    expected = set(Settings().to_dict()) - {"schema_version", "use_prompt_embeds", "comet"}
    expected -= {"inspiration_model"}  # any text: empty means the offline word lists
    assert expected <= fields, expected - fields


@pytest.mark.parametrize(
    ("values", "field", "words"), TABLE, ids=[str(i) for i in range(len(TABLE))]
)
def test_bad_input_names_the_field(values, field, words, make_session, bad_files):
    values = _resolve(values, bad_files)
    values.setdefault("prompts", "0: a corgi\n2: a lion")
    loads = {"model_id", "pipeline_class", "controlnet_ids", "motion_adapter_id"} & set(values)
    with pytest.raises(SettingsError) as info:
        session = make_session(**values)
        session.plan()
        if loads:  # the pipeline these settings name, not the shared tiny one
            session._pipe = None
        list(session.render_frames([0]))
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)
    assert str(info.value).startswith(f"`{field}`")
