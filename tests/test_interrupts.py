"""Ctrl-C at the worst moments of a render: as the last frame's PNG lands (the GIF frame is
still to be written), and again while the output is finished. The output always holds every
frame done, and a press during the finish says so instead of raising."""

from __future__ import annotations

import os
import signal

import pytest
from PIL import Image

from giffusion_nb.output import frame_writer
from giffusion_nb.output.interrupts import FINISHING
from giffusion_nb.output.writers import BackgroundWriter, existing_frames

PROMPTS = "0: a red circle\n5: a blue square"  # six frames


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_as_the_last_frame_lands_keeps_every_frame(
    make_session, monkeypatch, capfd, presses
):
    save = frame_writer.save_png_atomic

    def then_ctrl_c(image, path, field="output_dir"):
        save(image, path, field)
        if path.name == "0005.png":  # the last PNG is on disk, its GIF frame comes next
            os.kill(os.getpid(), signal.SIGINT)

    close = BackgroundWriter.close

    def ctrl_c_again(self):
        if presses == 2:
            os.kill(os.getpid(), signal.SIGINT)  # while the output is finished
        return close(self)

    monkeypatch.setattr(frame_writer, "save_png_atomic", then_ctrl_c)
    monkeypatch.setattr(BackgroundWriter, "close", ctrl_c_again)
    handler = signal.getsignal(signal.SIGINT)
    session = make_session(prompts=PROMPTS)
    output = session.render()
    assert existing_frames(session.run_dir) == set(range(6))
    with Image.open(output) as gif:
        assert gif.n_frames == 6
    assert session.status == "done" and session.message.startswith("Rendered 6 of 6")
    assert (FINISHING in capfd.readouterr().err) == (presses == 2)
    assert signal.getsignal(signal.SIGINT) is handler
