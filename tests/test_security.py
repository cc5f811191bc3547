"""Nothing the user types is executed, nothing is written outside the run folders, and only
diffusers pipelines are loaded, without remote code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.output.runs import create_run_dir, slug
from giffusion_nb.pipelines.load import load_pipeline, resolve_pipeline_class
from giffusion_nb.ui.uploads import MAX_UPLOAD_MB, safe_name

PACKAGE = Path(__file__).parent.parent / "giffusion_nb"
ROOT = PACKAGE.parent


def test_no_eval_or_exec_anywhere_in_the_package():
    pattern = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize("name", ["os.system", "AutoencoderKL", "ModelMixin", "SchedulerMixin"])
def test_only_diffusers_pipelines_resolve(name):
    with pytest.raises(SettingsError) as info:
        resolve_pipeline_class(name)
    assert info.value.field == "pipeline_class"


def test_pipelines_load_without_custom_or_remote_code(monkeypatch, tmp_path):
    import diffusers

    seen = {}
    original = diffusers.DiffusionPipeline.from_pretrained.__func__

    def spy(cls, location, **kwargs):
        seen.update(kwargs)
        return original(cls, location, **kwargs)

    monkeypatch.setattr(diffusers.DiffusionPipeline, "from_pretrained", classmethod(spy))
    load_pipeline("builtin:tiny-sd", device="cpu")
    assert seen and "custom_pipeline" not in seen and "trust_remote_code" not in seen


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "/etc", "a\\b", "x" * 200])
def test_run_names_cannot_leave_the_output_folder(tmp_path, name):
    with pytest.raises(SettingsError) as info:
        create_run_dir(tmp_path, "a corgi", name)
    assert info.value.field == "run_name"
    assert list(tmp_path.iterdir()) == []


def test_titles_become_safe_folder_names(tmp_path):
    run_dir = create_run_dir(tmp_path, "../../etc/passwd: a corgi")
    assert run_dir.parent == tmp_path.resolve()
    assert slug("../../etc/passwd") == "etc-passwd"


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../evil name.png", "evil_name.png"), ("..", "upload"), ("C:\\x\\y.wav", "y.wav")],
)
def test_upload_names_are_sanitised(name, safe):
    assert safe_name(name) == safe


def test_voila_listens_on_loopback_with_room_for_uploads():
    makefile = (ROOT / "Makefile").read_text()
    assert "--Voila.ip=127.0.0.1" in makefile
    size = int(re.search(r"'websocket_max_message_size': (\d+)", makefile)[1])
    assert size >= MAX_UPLOAD_MB * 1024 * 1024


# --- no write follows a symbolic link planted under outputs/ --------------------------------


@pytest.fixture
def planted(tmp_path):
    """An outputs/ folder, and outside it a file an attacker's links point at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.png"
    victim.write_bytes(b"precious")
    return tmp_path / "outputs", outside, victim


def _gif(path: Path) -> Path:
    from PIL import Image

    frames = [Image.new("RGB", (16, 16), (60 * i, 0, 0)) for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    return path


def test_an_upload_is_never_written_through_a_dangling_link(planted):
    from giffusion_nb.ui.uploads import save_upload

    outputs, outside, _victim = planted
    inputs = outputs / "inputs"
    inputs.mkdir(parents=True)
    (inputs / "photo.png").symlink_to(outside / "planted.png")  # dangling: nothing there yet
    path = save_upload({"name": "photo.png", "content": b"upload"}, inputs, field="image_input")
    assert path == inputs / "photo-2.png" and path.read_bytes() == b"upload"
    assert not (outside / "planted.png").exists()
    assert not path.is_symlink()


def test_an_upload_into_a_linked_inputs_folder_is_refused(planted):
    from giffusion_nb.ui.uploads import save_upload

    outputs, outside, _victim = planted
    outputs.mkdir()
    (outputs / "inputs").symlink_to(outside)
    with pytest.raises(SettingsError) as info:
        save_upload({"name": "a.png", "content": b"x"}, outputs / "inputs", field="image_input")
    assert info.value.field == "image_input" and "symbolic link" in info.value.message
    assert sorted(p.name for p in outside.iterdir()) == ["victim.png"]


def test_use_output_frame_replaces_a_planted_link_instead_of_following_it(planted, tmp_path):
    from giffusion_nb.render.session import RenderSession

    outputs, _outside, victim = planted
    gif = _gif(tmp_path / "run.gif")
    target = outputs / "inputs" / "run-frame-0001.png"
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    session = RenderSession(output_dir=outputs, device="cpu")
    assert session.use_output_frame(1, gif) == target
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink() and target.read_bytes().startswith(b"\x89PNG")
    assert session.settings.image_input == str(target)


USES = {
    "use_output_frame": lambda session, gif: session.use_output_frame(1, gif),
    "use_output_as_video": lambda session, gif: session.use_output_as_video(gif),
}


@pytest.mark.parametrize("use", USES)
def test_a_linked_inputs_folder_is_refused_by_the_output_to_input_helpers(planted, tmp_path, use):
    from giffusion_nb.render.session import RenderSession

    outputs, outside, _victim = planted
    outputs.mkdir()
    (outputs / "inputs").symlink_to(outside)
    session = RenderSession(output_dir=outputs, device="cpu")
    with pytest.raises(SettingsError) as info:
        USES[use](session, _gif(tmp_path / "run.gif"))
    assert info.value.field == "output_dir" and "symbolic link" in info.value.message
    assert sorted(p.name for p in outside.iterdir()) == ["victim.png"]


def test_frames_are_never_saved_through_a_linked_frames_folder(planted):
    from giffusion_nb.output.writers import BackgroundWriter

    outputs, outside, _victim = planted
    run_dir = outputs / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "frames").symlink_to(outside)
    with pytest.raises(SettingsError) as info:
        BackgroundWriter(run_dir, 3, run_dir / "run.gif", "gif", 10)
    assert info.value.field == "output_dir"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.png"]


def test_a_saved_frame_replaces_a_link_at_its_name(planted):
    from PIL import Image

    from giffusion_nb.output.writers import frame_path, save_png_atomic

    outputs, _outside, victim = planted
    path = frame_path(outputs / "run", 0)
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    save_png_atomic(Image.new("RGB", (8, 8)), path)
    assert victim.read_bytes() == b"precious"
    assert not path.is_symlink() and Image.open(path).size == (8, 8)
    assert [p.name for p in path.parent.iterdir()] == ["0000.png"]  # no temporary file left


# --- a model folder's code and pickles never run ---------------------------------------------

MARKER_CODE = "import pathlib\npathlib.Path({path!r}).write_text('ran')\n"


class _WritesMarker:
    """Unpickling this writes a file: the proof that a pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _plant(folder: Path, case: str, marker: Path) -> str:
    """Change a copy of the tiny pipeline's folder as ``case`` says; returns the words the
    refusal has to say."""
    import json
    import pickle

    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text())
    code = MARKER_CODE.format(path=str(marker))
    if case == "pickled-unet":
        (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
        weights = pickle.dumps(_WritesMarker(str(marker)))
        (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(weights)
        return "weights are pickled (unet/diffusion_pytorch_model.bin)"
    if case == "pickled-text-encoder":
        (folder / "text_encoder" / "model.safetensors").unlink()
        weights = pickle.dumps(_WritesMarker(str(marker)))
        (folder / "text_encoder" / "pytorch_model.bin").write_bytes(weights)
        return "weights are pickled (text_encoder/pytorch_model.bin)"
    if case == "custom-pipeline":
        index["_class_name"] = ["pipeline", "MarkerPipeline"]
        index_path.write_text(json.dumps(index))
        (folder / "pipeline.py").write_text(code + "class MarkerPipeline: pass\n")
        return "names a custom pipeline"
    if case == "custom-component":
        index["unet"] = ["marker_unet", "MarkerUNet"]
        index_path.write_text(json.dumps(index))
        (folder / "unet" / "marker_unet.py").write_text(code + "class MarkerUNet: pass\n")
        return "its component unet comes from 'marker_unet'"
    if case == "stray-module":  # diffusers imports <folder>/None.py as a custom pipeline
        (folder / "None.py").write_text(code)
        return "it holds code (None.py)"
    if case == "auto-map":
        config_path = folder / "text_encoder" / "config.json"
        config = json.loads(config_path.read_text())
        config["auto_map"] = {"AutoModel": "modeling_marker.MarkerModel"}
        config_path.write_text(json.dumps(config))
        return "text_encoder/config.json maps classes to code of its own"
    if case == "component-module":
        (folder / "text_encoder" / "modeling_marker.py").write_text(code)
        return "it holds code (text_encoder/modeling_marker.py)"
    raise AssertionError(case)


MODEL_CASES = [
    "pickled-unet",
    "pickled-text-encoder",
    "custom-pipeline",
    "custom-component",
    "stray-module",
    "auto-map",
    "component-module",
]


@pytest.mark.parametrize("case", MODEL_CASES)
def test_a_model_folder_with_code_or_pickles_is_refused_and_nothing_of_it_runs(case, tmp_path):
    import shutil

    from giffusion_nb.pipelines.builtin import builtin_model_path

    folder = tmp_path / "model"
    shutil.copytree(builtin_model_path("builtin:tiny-sd"), folder)
    marker = tmp_path / "code-ran"
    words = _plant(folder, case, marker)
    with pytest.raises(SettingsError) as info:
        load_pipeline(str(folder), device="cpu")
    assert info.value.field == "model_id"
    assert str(folder) in info.value.message and "was not loaded" in info.value.message
    assert words in info.value.message, info.value.message
    assert not marker.exists()


def test_a_controlnet_folder_with_pickled_weights_is_refused(tmp_path):
    import pickle
    import shutil

    from giffusion_nb.pipelines.builtin import builtin_model_path

    folder = tmp_path / "controlnet"
    shutil.copytree(builtin_model_path("builtin:tiny-controlnet"), folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    marker = tmp_path / "pickle-ran"
    (folder / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(_WritesMarker(str(marker))))
    with pytest.raises(SettingsError, match="weights are pickled") as info:
        load_pipeline("builtin:tiny-sd", controlnet_ids=[str(folder)], device="cpu")
    assert info.value.field == "controlnet_ids"
    assert not marker.exists()


def test_an_error_log_is_appended_to_never_through_a_planted_link(planted, tmp_path):
    from giffusion_nb.output.safe_paths import append_text

    outputs, _outside, victim = planted
    outputs.mkdir()
    (outputs / "error.log").symlink_to(victim)
    append_text(outputs / "error.log", "--- first\n", "output_dir")
    append_text(outputs / "error.log", "--- second\n", "output_dir")
    assert victim.read_bytes() == b"precious"
    assert (outputs / "error.log").read_text() == "--- first\n--- second\n"
    linked = tmp_path / "linked-outputs"  # a folder the user names through a link is theirs
    linked.symlink_to(outputs)
    append_text(linked / "error.log", "--- third\n", "output_dir")
    assert (outputs / "error.log").read_text().endswith("--- third\n")
