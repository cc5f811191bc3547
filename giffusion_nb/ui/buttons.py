"""Small widget helpers shared by the panel's parts: labelled buttons and PNG bytes of images."""

from __future__ import annotations

import io

import ipywidgets as widgets
from PIL import Image


def button(label: str, css: str, tooltip: str, style: str = "") -> widgets.Button:
    """A button as wide as its label, with a CSS class (tests and styles find it by that)."""
    made = widgets.Button(
        description=label,
        tooltip=tooltip,
        button_style=style,
        layout=widgets.Layout(width="auto", min_width="fit-content"),
    )
    made.add_class(css)
    return made


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG, for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
