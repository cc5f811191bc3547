"""The project's own files install everything: dependencies, the Makefile's order, binder, CI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).parent.parent
REQUIRED = [
    "diffusers", "transformers", "torch", "numpy", "pillow", "imageio", "imageio-ffmpeg",
    "librosa", "matplotlib", "ipympl", "ipywidgets", "voila", "comet-ml", "peft", "compel",
]  # fmt: skip


def test_dependencies_have_lower_bounds_and_no_torchvision():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", spec)[0]: spec for spec in project["dependencies"]}
    for name in REQUIRED:
        assert name in names, name
        assert ">=" in names[name], names[name]
    assert not {"torchvision", "torchaudio"} & set(names)
    assert project["scripts"]["giffusion-nb"] == "giffusion_nb.cli:run"
    assert {"test", "dev"} <= set(project["optional-dependencies"])


def test_makefile_installs_cpu_torch_before_the_package():
    makefile = (ROOT / "Makefile").read_text()
    torch_line = makefile.index("pip install --quiet torch==2.13.0")
    package_line = makefile.index('pip install --quiet -e ".[test]"')
    assert torch_line < package_line
    assert "--Voila.ip=127.0.0.1" in makefile


def test_ci_runs_the_readme_test_command_only():
    run = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert run[-1] == "exec make test"
    assert "make test" in (ROOT / "README.md").read_text()


def test_binder_installs_cpu_torch_then_the_package():
    lines = (ROOT / "binder" / "requirements.txt").read_text().split("\n")
    lines = [line for line in lines if line and not line.startswith("#")]
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert lines[-1] == "."


def test_wheel_ships_the_shapes_model(tmp_path):
    """A wheel built from the project's files holds every file of builtin:shapes-sd."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "giffusion_nb", source / "giffusion_nb", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("giffusion_nb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    model = ROOT / "giffusion_nb" / "shapes" / "shapes-sd"
    shipped = {path.relative_to(ROOT).as_posix() for path in model.rglob("*") if path.is_file()}
    assert "giffusion_nb/shapes/shapes-sd/unet/diffusion_pytorch_model.safetensors" in shipped
    assert shipped <= names
