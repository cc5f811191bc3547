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


AUDIO_CLICKS = (0.4, 1.0, 1.6)  # at 10 frames/s: onsets on frames 4, 10 and 16
AUDIO_FPS = "10"
AUDIO_ZOOM = "0: (1.0 + 0.05*onset(0, 0.25)), 20: (1.0), 24: (1.02)"
AUDIO_DRAGGED = "0: (1.0 + 0.05*onset(0, 0.25)), 20: (1.0), 24: (1.03)"
STRIP_RGB = (230, 126, 34)  # the first feature's line (ui/feature_strip.py)


def audio_beneath_a_curve(page, expect, wav: Path, picture_path: Path) -> None:
    """A zoom that reads the audio's onsets: the Motion preview draws the onset feature under
    the zoom curve (on the onsets' frames, nothing before the first), the curve computed from
    it, and the numeric key frame still drags. A picture of field and plot goes to
    ``picture_path``. The settings are put back as they were."""
    started = time.monotonic()
    preview, field = page.locator(".gnb-preview-motion"), page.locator(".gnb-zoom input")
    canvas = preview.locator("canvas").last
    settings = {"prompts": CURVE_PROMPTS, "zoom": AUDIO_ZOOM, "audio_input": str(wav)}
    settings["fps"] = AUDIO_FPS
    before = field.input_value()
    open_section(page, "Output settings")
    type_into(page, "fps", AUDIO_FPS)
    open_section(page, "Audio input")
    type_into(page, "audio_input", str(wav))
    open_section(page, "Animation settings")
    page.locator(".gnb-stage .lm-TabBar-tab", has_text="Motion").click()
    canvas.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    old = shot(page, canvas, (0, 0, 300, 180))
    type_into(page, "zoom", AUDIO_ZOOM)
    expect(preview).to_contain_text("key frame 0 of zoom is an expression", timeout=120_000)
    area, columns, size = _zoom_axes(settings)
    box = canvas.bounding_box()
    assert (box["width"], box["height"]) == (size["width"], size["height"]), (box, size)
    plot = shot(page, canvas, area, unlike=old)
    strip_rows = _strip_rows(plot)
    for frame in (4, 10, 16):  # the onsets: the feature rises to its top (30 % of the axes)
        assert strip_rows[columns[frame]] >= 0.2 * plot.height, (frame, strip_rows)
    for frame in (1, 2):  # before the first onset: silence, no feature above the axis
        assert strip_rows[columns[frame]] <= 0.03 * plot.height, (frame, strip_rows)
    points, _ = motion_points(settings, "zoom", [(24, 1.02), (24, 1.03)])
    drag(page, canvas, points)
    expect(field).to_have_value(AUDIO_DRAGGED)
    page.mouse.move(0, 0)
    pictured = shot(page, canvas, area, unlike=plot)
    clip = (0, 0, area[2], field.bounding_box()["height"])
    strip([(shot(page, field, clip), pictured)]).save(picture_path)
    type_into(page, "zoom", before)
    type_into(page, "audio_input", "")
    open_section(page, "Output settings")
    type_into(page, "fps", "8")
    expect(field).to_have_value(before)
    print(f"\naudio beneath a curve: shown and dragged in {time.monotonic() - started:.1f} s")


def _zoom_axes(settings: dict) -> tuple[tuple[float, float, float, float], dict, dict]:
    """The zoom axes' area on the Motion canvas (x, y, width, height in CSS pixels), the
    column inside it of each frame, and the canvas's size (from the kernel's twin figure)."""
    previews = Previews(RenderSession(device="cpu", **settings))
    try:
        figure, ax = previews.motion.figure, previews.motion.axes["zoom"]
        figure.canvas.draw()
        height = figure.bbox.height
        x0, y0, x1, y1 = ax.bbox.extents
        area = (x0 + 1, height - y1 + 1, x1 - x0 - 2, y1 - y0 - 2)
        columns = {
            frame: round(ax.transData.transform((frame, 1.0))[0] - area[0]) for frame in range(25)
        }
        return area, columns, {"width": figure.bbox.width, "height": height}
    finally:
        previews.close()


def _strip_rows(picture: Image.Image) -> dict[int, int]:
    """For each pixel column, how high (rows from the bottom) the feature's line reaches."""
    pixels = picture.load()
    reach = {}
    for x in range(picture.width):
        rows = [
            picture.height - 1 - y
            for y in range(picture.height)
            if all(abs(a - b) <= 40 for a, b in zip(pixels[x, y], STRIP_RGB, strict=True))
        ]
        reach[x] = max(rows, default=0)
    return reach
