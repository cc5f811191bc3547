"""The Prompts section's tools: topics and *Give me some inspiration*, and *Undo* for anything
that replaced the prompts (the inspiration, or the key frames of an audio or video input)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from giffusion_nb.render.session import RenderSession
from giffusion_nb.ui.actions import Action, Jobs
from giffusion_nb.ui.buttons import button


class PromptTools:
    """Writes new prompts into the session and keeps the ones they replaced for *Undo*."""

    def __init__(self, session: RenderSession, jobs: Jobs) -> None:
        self.session, self.jobs = session, jobs
        self._replaced: tuple[str, str] | None = None  # (the old prompts, what replaced them)
        self.topics = widgets.Text(
            placeholder="topics, e.g. a red circle, a blue star (optional)",
            tooltip="Comma-separated topics, one key-framed prompt each; empty: made-up ones",
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.topics.add_class("gnb-topics")
        self.inspire = Action(
            "Give me some inspiration",
            "gnb-inspire",
            "Fill the prompts box with new prompts, one second apart",
            "Writing prompts…",
        )
        self.undo = button("Undo", "gnb-undo", "Put back the prompts the last change replaced")
        self.undo.disabled = True
        self.note = widgets.HTML()
        self.note.add_class("gnb-prompts-note")
        self.inspire.button.on_click(lambda _: self.jobs.start(self.inspire, self._inspire))
        self.undo.on_click(lambda _: self.restore())
        self.widget = widgets.VBox(
            [
                self.note,
                widgets.HBox([self.topics, self.inspire.button, self.undo]),
                self.inspire.feedback,
            ]
        )

    def replace(self, text: str, what: str) -> int:
        """Make ``text`` the prompts, keeping the old ones for *Undo*; returns its key frames."""
        settings = self.session.settings
        self._replaced = (settings.prompts, what)
        settings.prompts = text
        self.undo.disabled = False
        count = len(key_frame_numbers(text))
        self.note.value = (
            f"<span class='gnb-result'>{count} key frames from {html.escape(what)} written "
            "here; <b>Undo</b> puts the previous prompts back.</span>"
        )
        return count

    def restore(self) -> None:
        """*Undo*: the prompts from before the last replacement."""
        if self._replaced is None:
            return
        old, what = self._replaced
        self._replaced = None
        self.session.settings.prompts = old
        self.undo.disabled = True
        self.note.value = ""
        self.inspire.show_result(f"Put back the prompts from before {what}.")

    def _inspire(self) -> str:
        from giffusion_nb.keyframes.inspiration import inspire

        s = self.session.settings
        result = inspire(
            self.topics.value,
            fps=s.fps,
            seed=s.seed,
            model_id=s.inspiration_model or None,
            for_model=s.model_id,
        )
        count = self.replace(result.text, "the inspiration")
        text = f"Wrote {count} prompts ({result.source})."
        return f"{text} {result.message}." if result.message else text


def key_frame_numbers(text: str) -> list[int]:
    """The frame numbers that start the lines of key-frame text (the prompts may be empty)."""
    head = (line.split(":", 1)[0].strip() for line in text.splitlines())
    return [int(number) for number in head if number.isdigit()]
