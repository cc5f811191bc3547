"""The one render lifecycle: an error at any step, the pacing probe's included, leaves the
session no longer rendering, says what went wrong and closes the writer."""

from __future__ import annotations

import pytest

from giffusion_nb.output import writers


def test_a_failing_pacing_probe_leaves_the_session_idle_with_the_writer_closed(
    make_session, monkeypatch
):
    closed = []
    close = writers.BackgroundWriter.close

    def spy_close(self):
        closed.append(self)
        return close(self)

    def failing_probe(job, stop=None):
        raise RuntimeError("the probe broke")

    monkeypatch.setattr(writers.BackgroundWriter, "close", spy_close)
    monkeypatch.setattr("giffusion_nb.render.lifecycle.probe_pacing", failing_probe)
    session = make_session(prompts="0: a red circle\n4: a blue square", pacing="even")
    with pytest.raises(RuntimeError, match="the probe broke"):
        session.render()
    assert len(closed) == 1
    assert (session.status, session.message) == ("error", "the probe broke")
    assert not session.busy
    assert session.frames_done == 0 and session.run_dir
    monkeypatch.undo()  # the probe mended, the same session renders again at once
    assert session.render() is not None and session.status == "done"
