import math

import pytest
import torch

from giffusion_nb.render.slerp import slerp


def _reference(t, v0, v1):
    """Slerp written out for one pair, in float64."""
    a, b = v0.double().flatten(), v1.double().flatten()
    dot = float((a / a.norm()) @ (b / b.norm()))
    if abs(dot) > 0.9995:
        return ((1 - t) * a + t * b).reshape(v0.shape)
    theta = math.acos(dot)
    return (
        math.sin((1 - t) * theta) / math.sin(theta) * a + math.sin(t * theta) / math.sin(theta) * b
    ).reshape(v0.shape)


def test_matches_the_formula_and_the_ends():
    generator = torch.Generator().manual_seed(0)
    v0, v1 = torch.randn(4, 8, 8, generator=generator), torch.randn(4, 8, 8, generator=generator)
    for t in (0.0, 0.25, 0.5, 1.0):
        assert torch.allclose(slerp(t, v0, v1).double(), _reference(t, v0, v1), atol=1e-5)
    assert torch.equal(slerp(0.0, v0, v1), v0)
    assert torch.allclose(slerp(1.0, v0, v1), v1, atol=1e-6)


def test_batched_equals_one_by_one():
    generator = torch.Generator().manual_seed(1)
    v0, v1 = torch.randn(3, 2, 5, generator=generator), torch.randn(3, 2, 5, generator=generator)
    t = torch.tensor([0.1, 0.5, 0.9])
    batched = slerp(t, v0, v1)
    for i in range(3):
        assert torch.allclose(batched[i], slerp(float(t[i]), v0[i], v1[i]), atol=1e-6)


def test_parallel_vectors_fall_back_to_linear():
    v0 = torch.ones(10)
    v1 = 2 * torch.ones(10)
    assert torch.allclose(slerp(0.5, v0, v1), 1.5 * torch.ones(10))


def test_keeps_dtype_and_preserves_norm_between_unit_vectors():
    v0 = torch.tensor([1.0, 0.0], dtype=torch.float16)
    v1 = torch.tensor([0.0, 1.0], dtype=torch.float16)
    out = slerp(0.5, v0, v1)
    assert out.dtype == torch.float16
    assert float(out.float().norm()) == pytest.approx(1.0, abs=1e-3)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        slerp(0.5, torch.ones(2), torch.ones(3))
