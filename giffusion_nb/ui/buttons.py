"""Small widget helpers shared by the panel's parts: labelled buttons and PNG bytes of images."""

from __future__ import annotations

import io

import ipywidgets as widgets
from PIL import Image


def button(label: str, css: str, tooltip: str, style: str = "") -> widgets.Button:
    """A button with a CSS class (browser tests and styles find it by that class)."""
    made = widgets.Button(description=label, tooltip=tooltip, button_style=style)
    made.add_class(css)
    return made


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG, for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
