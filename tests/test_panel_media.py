"""The panel's media and prompt tools: uploads, previews, inspiration and audio key frames."""

from __future__ import annotations

import datetime
import itertools

from helpers import write_clicks
from PIL import Image


def test_uploads_are_saved_with_safe_names_and_limited(panel, tmp_path):
    image = Image.new("RGB", (72, 40), (10, 200, 30))
    data = tmp_path / "x.png"
    image.save(data)
    upload = panel.inputs.uploads["image_input"]
    upload.value = (_file("../../evil name.png", data.read_bytes()),)
    path = panel.session.settings.image_input
    assert path.endswith("evil_name.png")
    assert str(panel.session.output_dir / "inputs") in path
    panel.upload_mb = 0.000001
    upload.value = (_file("big.png", b"x" * 100),)
    assert "more than" in panel.fields["image_input"].error.value


def _file(name: str, content: bytes) -> dict:
    """One entry of a FileUpload value, as the browser sends it."""
    return {
        "name": name,
        "type": "image/png",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }


def test_previews_follow_the_panel(panel):
    panel.fields["prompts"].widget.value = "0: a corgi\n4: a lion\n10: a fox"
    panel.previews.refresh()
    assert panel.previews.schedule.key_frame_frames == [0, 4, 10]
    assert list(panel.previews.schedule.line.get_xdata()) == list(range(11))
    panel.fields["interpolation_type"].widget.value = "sine"
    panel.previews.refresh()
    y = panel.previews.schedule.line.get_ydata()
    assert y[0] == 0 and max(y[:4]) == 1.0  # sine travels to the next prompt and back


def test_inspiration_fills_the_prompts_box_and_undo_puts_them_back(panel):
    tools, settings = panel.prompt_tools, panel.session.settings
    before = settings.prompts
    tools.topics.value = "a corgi, a lighthouse"
    settings.fps = 6
    tools.inspire.button.click()
    panel.wait(120)
    lines = panel.fields["prompts"].widget.value.splitlines()
    assert [line.split(":")[0] for line in lines] == ["0", "6"]
    assert "a corgi" in lines[0] and "a lighthouse" in lines[1]
    assert "Wrote 2 prompts (offline)" in tools.inspire.feedback.value
    assert not tools.undo.disabled
    tools.undo.click()
    assert settings.prompts == before and tools.undo.disabled
    assert "Put back the prompts" in tools.inspire.feedback.value


def test_inspiration_for_the_shapes_model_writes_what_it_can_draw(panel):
    from giffusion_nb.keyframes.shape_words import WORDS

    panel.session.settings.model_id = "builtin:shapes-sd"
    panel.prompt_tools.inspire.button.click()
    panel.wait(120)
    prompts = [line.split(": ", 1)[1] for line in panel.session.settings.prompts.splitlines()]
    assert len(prompts) == 4
    assert all(word in WORDS for prompt in prompts for word in prompt.split()), prompts


def test_audio_key_frames_open_the_prompts_and_say_what_they_wrote(panel, tmp_path):
    wav = write_clicks(tmp_path / "clicks.wav", (0.5, 1.3), 2.0, 22050)
    settings = panel.session.settings
    settings.audio_input = str(wav)
    settings.fps = 10
    panel.sections["Prompts"].selected_index = None
    panel.inputs.audio_keys.button.click()
    panel.wait(300)
    frames = [int(line.split(":")[0]) for line in settings.prompts.splitlines()]
    assert len(frames) >= 2 and frames[0] == 0
    feedback = panel.inputs.audio_keys.feedback.value
    assert f"Wrote {len(frames)} key frames" in feedback and "into Prompts" in feedback
    assert panel.sections["Prompts"].selected_index == 0
    assert "from the audio&#x27;s onsets written here" in panel.prompt_tools.note.value


def test_prompts_go_onto_the_beats_from_the_panel(panel, tmp_path):
    beats = [0.25 + 0.5 * index for index in range(8)]
    wav = write_clicks(tmp_path / "pulse.wav", beats, 4.2)
    settings, fields = panel.session.settings, panel.fields
    settings.audio_input = str(wav)
    fields["fps"].widget.value = "30000/1001"  # an exact video rate, typed
    assert settings.fps == 30000 / 1001
    fields["audio_key_frames"].widget.value = "2 beats"
    assert settings.audio_key_frames == "2 beats" and not fields["audio_key_frames"].message
    settings.prompts = "0: a red circle\n5: a blue square --neg dark"
    panel.inputs.audio_prompts.button.click()
    panel.wait(300)
    lines = settings.prompts.splitlines()
    texts = [line.split(": ", 1)[1] for line in lines]
    assert texts[:3] == ["a red circle", "a blue square --neg dark", "a red circle"]
    frames = [int(line.split(":")[0]) for line in lines]
    inner = frames[1:-1]  # frame 0 and the audio's last frame are added
    assert all(abs(b - a - 30000 / 1001) <= 1 for a, b in itertools.pairwise(inner))  # 1 s
    feedback = panel.inputs.audio_prompts.feedback.value
    assert "key frames on every 2 beats at" in feedback and "BPM" in feedback
    assert "repeated in order" in feedback and "the prompts now start there" in feedback
    fields["audio_key_frames"].widget.value = "every bar and a half"
    assert "`audio_key_frames`" in fields["audio_key_frames"].message
