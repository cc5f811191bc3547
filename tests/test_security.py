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
