"""Tests for giffusion_nb.pipelines.devices: device text to a device this machine has."""

from __future__ import annotations

import pytest
import torch

from giffusion_nb.errors import SettingsError
from giffusion_nb.pipelines.devices import resolve_device
from giffusion_nb.pipelines.load import default_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("text", ["cpu", " CPU ", "cpu:0", torch.device("cpu")])
def test_the_cpu_in_any_spelling(text):
    assert resolve_device(text).type == "cpu"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_nothing_means_the_default_device(value):
    assert resolve_device(value) == default_device()


@pytest.mark.parametrize(
    "text", ["gpu0", "gpu", "cuda0", "cuda:-1", "cuda:99999", "meta", "x" * 500]
)
def test_text_that_names_no_device(text):
    with pytest.raises(SettingsError) as info:
        resolve_device(text)
    assert info.value.field == "device"
    assert "expected cpu, cuda, cuda:N" in info.value.message
    assert len(info.value.message) < 200


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_cuda_gpu(no_gpu, device):
    with pytest.raises(SettingsError, match="no CUDA GPU here") as info:
        resolve_device(device)
    assert info.value.field == "device"


def test_cuda_devices_the_machine_has(two_gpus):
    assert resolve_device("CUDA:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(SettingsError, match=r"has 2 such GPUs \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


def test_mps_and_xpu_only_where_present(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(SettingsError, match="no Apple GPU"):
        resolve_device("mps")
    if hasattr(torch, "xpu"):
        monkeypatch.setattr(torch.xpu, "is_available", lambda: False)
    with pytest.raises(SettingsError, match="no Intel GPU"):
        resolve_device("xpu")


def test_a_device_of_the_wrong_type_is_refused():
    with pytest.raises(SettingsError, match="got int"):
        resolve_device(0)
