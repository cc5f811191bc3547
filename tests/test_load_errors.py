"""Model-load errors in words a dashboard user can act on, with diffusers' error chained."""

from __future__ import annotations

import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.load import load_pipeline
from giffusion_nb.pipelines.load_errors import explain_load_error


def load_error(model_id: str, pipeline_class: str = "DiffusionPipeline") -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load_pipeline(model_id, pipeline_class, device="cpu")
    assert info.value.field == "model_id"
    return info.value


def test_a_folder_without_model_index_is_not_a_diffusers_folder(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    error = load_error(str(tmp_path))
    assert f"the folder '{tmp_path}' is not a diffusers model" in str(error)
    assert "model_index.json" in str(error)
    assert isinstance(error.__cause__, OSError)  # diffusers' own error, for the log


def test_a_missing_folder_is_named(tmp_path):
    error = load_error(str(tmp_path / "no such model"))
    assert "there is no folder" in str(error) and "no such model" in str(error)
    assert "local_files_only" not in str(error) and "stacktrace" not in str(error)


def test_a_wrong_pipeline_class_names_the_missing_components():
    error = load_error("builtin:tiny-sd", "FluxPipeline")
    message = str(error)
    assert "'builtin:tiny-sd' is not a FluxPipeline model" in message
    assert "transformer" in message and "text_encoder_2" in message
    assert "image_encoder" not in message  # optional for Flux: not what is wrong
    assert "choose DiffusionPipeline" in message
    assert "were passed" in str(error.__cause__)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            OSError(
                "Cannot load model a/b: the model is not fully cached locally (Cannot find an "
                "appropriate cached snapshot folder ... and outgoing traffic has been disabled. "
                "To enable repo look-ups and downloads online, pass 'local_files_only=False')"
            ),
            "is not on this machine and the Hugging Face Hub cannot be reached",
        ),
        (OSError("404 Client Error. Repository Not Found for url"), "no model 'a/b' on the"),
        (OSError("401 Client Error: access to model a/b is restricted (gated)"), "login"),
        (RuntimeError("CUDA driver too old\nmore lines"), "with DiffusionPipeline: RuntimeError"),
    ],
)
def test_hub_errors_become_sentences(raw, words):
    message = explain_load_error(raw, "a/b", "DiffusionPipeline")
    assert words in message
    assert "local_files_only" not in message and "\n" not in message
