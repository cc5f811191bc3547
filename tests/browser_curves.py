"""The curve previews in a browser: where a handle is on the page (a twin of the kernel's
figure, built here from the same settings and laid out alike), a mouse drag on the ipympl
canvas, and a screenshot strip of the drag."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path

from browser_support import open_section, type_into
from PIL import Image

from giffusion_nb import RenderSession
from giffusion_nb.ui.previews import Previews

Point = tuple[float, float]
GAP = 8  # pixels between the strip's pictures
CURVE_PROMPTS = "0: a red circle\n12: a blue square\n24: a green star"
ZOOM = "0: (1.0), 12: (1.04), 24: (1.0)"
ZOOM_PATH = [(12, 1.04), (14, 1.03), (16, 1.02)]  # a handle dragged right and down
ZOOM_STRINGS = ["0: (1.0), 14: (1.03), 24: (1.0)", "0: (1.0), 16: (1.02), 24: (1.0)"]
DRAGGED_ZOOM = ZOOM_STRINGS[-1]


def motion_points(settings: dict, name: str, points: Sequence[Point]) -> tuple[list[Point], dict]:
    """Where data points of the Motion preview's ``name`` axes lie on its canvas (CSS pixels
    from the top left, at a device pixel ratio of 1), and the figure's size in pixels."""
    previews = Previews(RenderSession(device="cpu", **settings))
    try:
        figure, ax = previews.motion.figure, previews.motion.axes[name]
        figure.canvas.draw()  # the layout the kernel's figure has for the same settings
        height = figure.bbox.height
        found = [(float(x), float(height - y)) for x, y in ax.transData.transform(points)]
        return found, {"width": figure.bbox.width, "height": height}
    finally:
        previews.close()


def drag(page, canvas, points: Sequence[Point], on_the_way=None) -> None:
    """Press at ``points[0]`` on the canvas, move through the others (``on_the_way`` runs at
    each one while the button is held), release at the last."""
    box = canvas.bounding_box()

    def at(point: Point) -> tuple[float, float]:
        return box["x"] + point[0], box["y"] + point[1]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for index, point in enumerate(points[1:], start=1):
        page.mouse.move(*at(point), steps=4)
        if on_the_way is not None:
            on_the_way(index)
    page.mouse.up()


def shot(page, locator, clip: tuple[float, float, float, float], unlike=None) -> Image.Image:
    """The part ``clip`` (x, y, width, height, from the element's top left) of an element; with
    ``unlike``, once it differs from that picture (the canvas's new image takes a moment)."""
    box = locator.bounding_box()
    x, y, width, height = clip
    area = {"x": box["x"] + x, "y": box["y"] + y, "width": width, "height": height}
    for _ in range(25):
        picture = Image.open(io.BytesIO(page.screenshot(clip=area))).convert("RGB")
        if unlike is None or picture.tobytes() != unlike.tobytes():
            return picture
        page.wait_for_timeout(200)
    raise AssertionError(f"the picture at {area} did not change within 5 s")


def strip(pictures: Sequence[tuple[Image.Image, Image.Image]]) -> Image.Image:
    """(field, plot) picture pairs stacked, side by side, in few colours (a small PNG)."""
    width = max(max(field.width, plot.width) for field, plot in pictures)
    height = max(field.height + plot.height for field, plot in pictures)
    out = Image.new("RGB", (len(pictures) * (width + GAP) - GAP, height), "white")
    for index, (field, plot) in enumerate(pictures):
        out.paste(field, (index * (width + GAP), 0))
        out.paste(plot, (index * (width + GAP), field.height))
    return out.quantize(colors=32)


def drag_a_zoom_handle(page, expect, strip_path: Path) -> None:
    """A zoom key frame dragged with the mouse in the Motion preview; the Zoom field
    follows the drag, and the next render uses it (``_check_files`` reads its settings.json).
    A strip of the drag (field and plot before, during, after) is saved at ``strip_path``."""
    started = time.monotonic()
    type_into(page, "prompts", CURVE_PROMPTS)
    open_section(page, "Animation settings")
    type_into(page, "zoom", ZOOM)
    page.locator(".gnb-stage .lm-TabBar-tab", has_text="Motion").click()
    preview, field = page.locator(".gnb-preview-motion"), page.locator(".gnb-zoom input")
    expect(preview).to_contain_text("2D motion over 25 frames")
    canvas = preview.locator("canvas").last  # ipympl's top canvas takes the mouse
    canvas.scroll_into_view_if_needed()
    points, size = motion_points({"prompts": CURVE_PROMPTS, "zoom": ZOOM}, "zoom", ZOOM_PATH)
    box = canvas.bounding_box()
    assert (box["width"], box["height"]) == (size["width"], size["height"]), (box, size)
    field_clip, plot_clip = (0, 0, 258, field.bounding_box()["height"]), (40, 0, 258, 160)
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    pictures = [(shot(page, field, field_clip), shot(page, canvas, plot_clip))]

    def during(index: int) -> None:
        expect(field).to_have_value(ZOOM_STRINGS[index - 1])
        if index == 1:
            plot = shot(page, canvas, plot_clip, unlike=pictures[0][1])
            pictures.append((shot(page, field, field_clip), plot))

    drag(page, canvas, points, during)
    expect(field).to_have_value(ZOOM_STRINGS[-1])
    expect(preview.locator("button.gnb-curve-undo")).to_be_enabled()
    page.mouse.move(0, 0)
    plot = shot(page, canvas, plot_clip, unlike=pictures[1][1])
    pictures.append((shot(page, field, field_clip), plot))
    strip(pictures).save(strip_path)
    print(f"\ncurve drag: typed, dragged and pictured in {time.monotonic() - started:.1f} s")
