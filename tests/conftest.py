"""Shared fixtures: the built-in tiny pipeline, built once per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Built-in models go to a per-run cache, so the suite always builds them from code (once).
_OWN_CACHE = "GIFFUSION_NB_CACHE" not in os.environ
os.environ.setdefault(
    "GIFFUSION_NB_CACHE", str(Path(tempfile.gettempdir()) / f"giffusion-nb-tests-{os.getpid()}")
)


# A local Ray instance (the distributed tests) talks over loopback only, never over the
# machine's network address: Ray's own switch for single-machine use, read when ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# A loaded 2-core machine can take longer than Ray's default to start a raylet.
os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")


@pytest.fixture(scope="session", autouse=True)
def _remove_own_cache():
    """Delete the per-run model cache at the end, when this suite made it."""
    yield
    if _OWN_CACHE:
        shutil.rmtree(os.environ["GIFFUSION_NB_CACHE"], ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_pipe():
    """``builtin:tiny-sd`` loaded on the CPU through the regular ``from_pretrained`` path."""
    from giffusion_nb.pipelines.load import load_pipeline

    return load_pipeline("builtin:tiny-sd", device="cpu")


@pytest.fixture
def make_session(tiny_pipe, tmp_path):
    """A factory of sessions on the tiny pipeline at 64 px, 2 steps, writing under tmp_path."""
    from giffusion_nb import RenderSession

    def make(**values):
        defaults = {
            "model_id": "builtin:tiny-sd",
            "num_inference_steps": 2,
            "height": 64,
            "width": 64,
            "guidance_scale": 3.0,
        }
        return RenderSession(
            output_dir=tmp_path / "outputs",
            device="cpu",
            pipeline=tiny_pipe,
            **{**defaults, **values},
        )

    return make


@pytest.fixture
def panel(tiny_pipe, tmp_path):
    """The dashboard's panel on the tiny pipeline, rendering 6 frames at 64 px."""
    from giffusion_nb.ui.app import build_app

    panel = build_app(
        "builtin:tiny-sd",
        output_dir=tmp_path / "outputs",
        num_inference_steps=2,
        height=64,
        width=64,
        prompts="0: a red circle\n5: a blue square",
    )
    panel.session.device = tiny_pipe.device
    return panel
