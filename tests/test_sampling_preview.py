"""The sampling preview: guidance, steps and seeds plotted as the render reads them, errors
named under the plot, handles that write guidance_scale and num_inference_steps."""

from __future__ import annotations

import numpy as np
from test_curve_editor import Mouse

from giffusion_nb import RenderSession
from giffusion_nb.keyframes.seeds import frame_seeds
from giffusion_nb.render.spec import RenderSpec
from giffusion_nb.ui.previews import Previews

PROMPTS = "0: a corgi\n10: a fox\n20: a lion"  # 21 frames


def _previews(**values) -> tuple[RenderSession, Previews]:
    session = RenderSession(device="cpu", prompts=PROMPTS, **values)
    return session, Previews(session)


def _plotted(preview, name: str) -> np.ndarray:
    line = preview.lines[name]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(21))
    return np.asarray(line.get_ydata())


def test_key_frame_strings_are_plotted_as_the_spec_reads_them():
    session, previews = _previews(
        guidance_scale="0: (7.5), 10: (12), 20: (3)", num_inference_steps="0: (20), 20: (40)"
    )
    preview, spec = previews.sampling, RenderSpec.from_settings(session.settings)
    np.testing.assert_array_equal(_plotted(preview, "guidance_scale"), spec.guidance_scales)
    np.testing.assert_array_equal(_plotted(preview, "num_inference_steps"), spec.step_counts)
    assert _plotted(preview, "num_inference_steps")[[0, 1, 10, 20]].tolist() == [20, 21, 30, 40]
    assert preview.message.value.endswith(
        "guidance 7.5 → 3 (from 3 to 12) over 21 frames; 20–40 steps (630 in all); seeds iter "
        "from 42: key frames take 42, 52, 62</span>"
    )
    editor = preview.editors["guidance_scale"]
    assert list(editor.handles.get_xdata()) == [0, 10, 20]


def test_plain_numbers_are_flat_lines_with_one_handle():
    session, previews = _previews(guidance_scale=4.0, num_inference_steps=12)
    preview, spec = previews.sampling, RenderSpec.from_settings(session.settings)
    np.testing.assert_array_equal(_plotted(preview, "guidance_scale"), np.full(21, 4.0))
    np.testing.assert_array_equal(_plotted(preview, "num_inference_steps"), spec.step_counts)
    assert spec.step_counts.tolist() == [12] * 21
    assert "guidance 4 over 21 frames; 12 steps (252 in all)" in preview.message.value
    for name, value in (("guidance_scale", 4.0), ("num_inference_steps", 12)):
        handles = preview.editors[name].handles
        assert (list(handles.get_xdata()), list(handles.get_ydata())) == ([0], [value])
    assert "A plain number (guidance_scale, num_inference_steps)" in preview.hint.value


def test_ladder_seeds_are_plotted_as_the_seed_behaviour_gives_them():
    _, previews = _previews(seed=10, seed_behavior="ladder")
    preview = previews.sampling
    seeds = _plotted(preview, "seeds")
    assert seeds.tolist() == frame_seeds("ladder", 10, range(21))
    assert seeds[:6].tolist() == [10, 12, 11, 13, 12, 14]
    assert preview.axes["seeds"].get_ylabel() == "seed (ladder)"
    assert "seeds ladder from 10: key frames take 10, 15, 20" in preview.message.value


def test_errors_name_their_field_and_the_last_good_line_stays():
    session, previews = _previews(num_inference_steps="0: (20), 20: (40)")
    preview = previews.sampling
    good = _plotted(preview, "num_inference_steps").copy()
    session.settings.num_inference_steps = "0: (20), 20: (0)"
    assert (
        "`num_inference_steps`: expected a value between 1 and 1000, frame 20 has 0"
        in preview.message.value
    )
    np.testing.assert_array_equal(_plotted(preview, "num_inference_steps"), good)
    session.settings.update(num_inference_steps=20, seed_iter_n=3, seed_behavior="ladder")
    assert "`seed_iter_n`: is 3, but only seed_behavior `iter` reads it" in preview.message.value


def test_handle_drags_write_guidance_and_whole_steps():
    session, previews = _previews(guidance_scale="0: (7.5), 20: (7.5)", num_inference_steps=20)
    preview = previews.sampling
    Mouse(preview.axes["guidance_scale"]).drag((20, 7.5), (20, 7.6), (20, 3.0))
    assert session.settings.guidance_scale == "0: (7.5), 20: (3.0)"
    assert _plotted(preview, "guidance_scale")[20] == 3.0
    Mouse(preview.axes["num_inference_steps"]).drag((0, 20), (0, 20.6))  # one handle, up
    assert repr(session.settings.num_inference_steps) == "21"  # still a plain whole number
    assert _plotted(preview, "num_inference_steps").tolist() == [21] * 21
