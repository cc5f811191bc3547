"""The Voilà dashboard in a real browser: load, render, pick a frame, send it to the image input.

Starts ``voila notebooks/giffusion.ipynb`` on a free local port with the built-in tiny model and
drives it with Playwright on the system Chromium. Skipped where Chromium or Playwright is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "giffusion.ipynb"
SCREENSHOT_COPY = Path("/tmp/giffusion-dashboard.png")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 90  # until Voilà answers HTTP
PANEL_S = 120  # until the kernel has run the cell and the widgets are drawn
LOAD_S = 120  # loading the shipped shapes model
RENDER_S = 180  # rendering 4 frames at 64 px, 10 steps
ACTION_S = 30  # anything else (a widget round trip)
PROMPTS = "0: a red circle\n3: a blue square"
NUM_FRAMES = 4
STEPS = "10"  # not the dashboard's default (12), so the saved value proves the typing
PICKED_FRAME = 2


@dataclass
class Server:
    url: str
    log: Path
    output_dir: Path
    process: subprocess.Popen

    @property
    def probe_url(self) -> str:
        # A static file: any GET of the notebook's page starts a kernel that runs the notebook,
        # and a second kernel loading torch would slow the real one down on small machines.
        return self.url + "voila/static/extension.js"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(log: Path, lines: int = 60) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no Voilà log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _wait_for_http(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"Voilà exited with {server.process.returncode} before answering\n"
                f"--- Voilà log ---\n{_log_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(server.probe_url, timeout=5) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
            last_error = exc
        except (OSError, urllib.error.URLError) as exc:
            last_error = exc
        time.sleep(0.5)
    raise AssertionError(
        f"Voilà did not answer at {server.probe_url} within {timeout:.0f} s ({last_error})\n"
        f"--- Voilà log ---\n{_log_tail(server.log)}"
    )


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process (Linux /proc; empty elsewhere)."""
    table: dict[int, tuple[int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ... starttime ...": comm may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(pid: int) -> dict[int, str]:
    """``pid``'s child processes and theirs, with their start times (to spot a reused id)."""
    table = _process_table()
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                todo.append(child)
    return found


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left of it. Kernels run in
    their own sessions, so the server's descendants are also ended by their ids."""
    kernels = _descendants(process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while kernels and time.monotonic() < deadline:
        table = _process_table()
        kernels = {pid: t for pid, t in kernels.items() if pid in table and table[pid][1] == t}
        if kernels:
            time.sleep(0.2)  # the server shuts its kernels down on SIGTERM; give them a moment
    for pid in kernels:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def voila_server(tmp_path: Path) -> Iterator[Server]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")
    port = _free_port()
    workdir = tmp_path / "voila-cwd"
    output_dir = tmp_path / "outputs"
    workdir.mkdir()
    output_dir.mkdir()
    log = tmp_path / "voila.log"
    env = {  # the default model, builtin:shapes-sd, as `make dashboard` serves it
        **{name: value for name, value in os.environ.items() if name != "GIFFUSION_MODEL"},
        "GIFFUSION_OUTPUT_DIR": str(output_dir),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "voila",
        str(NOTEBOOK),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}/", log, output_dir, process)
    try:
        _wait_for_http(server, SERVER_START_S)
        yield server
    finally:
        _stop(process)


def test_dashboard_renders_and_sends_a_frame_to_the_image_input(voila_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server = voila_server
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(ACTION_S * 1000)
            try:
                _drive_dashboard(page, expect, server.url)
                screenshot = tmp_path / "dashboard.png"
                _full_page_screenshot(page, screenshot)
            except Exception as exc:
                raise AssertionError(_diagnostics(page, server, exc, tmp_path)) from exc
        finally:
            browser.close()

    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG"
    assert len(data) > 20_000, f"the screenshot is suspiciously small ({len(data)} bytes)"
    with Image.open(screenshot) as shot:
        assert shot.width >= 800 and shot.height >= 600, shot.size

    _check_files(server)
    elapsed = time.monotonic() - started
    print(f"\nbrowser test: dashboard driven in {elapsed:.1f} s; screenshot {SCREENSHOT_COPY}")


def _drive_dashboard(page, expect, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded", timeout=PANEL_S * 1000)
    render = page.locator("button.gnb-render")
    render.wait_for(state="visible", timeout=PANEL_S * 1000)
    status = page.locator(".gnb-status")

    # Load the model (the Load button sits in "Pipeline settings").
    _open_section(page, "Pipeline settings")
    load = page.locator("button.gnb-load")
    expect(load).to_be_visible()
    load.click()
    expect(status).to_contain_text("Loaded", timeout=LOAD_S * 1000)
    expect(status).to_contain_text("ready")

    # Two key-framed prompts: frames 0..3.
    _open_section(page, "Prompts")
    prompts = page.locator(".gnb-prompts textarea")
    expect(prompts).to_be_visible()
    prompts.fill(PROMPTS)
    prompts.press("Tab")

    # Quick diffusion settings.
    _open_section(page, "Diffusion settings")
    steps = page.locator(".gnb-num-inference-steps input")
    expect(steps).to_be_visible()
    steps.fill(STEPS)
    steps.press("Enter")
    steps.press("Tab")
    for name in ("height", "width"):
        box = page.locator(f".gnb-{name} input")
        box.fill("64")
        box.press("Enter")
        box.press("Tab")
    expect(steps).to_have_value(STEPS)

    # Render.
    expect(render).to_be_enabled()
    render.click()
    expect(status).to_contain_text("done", timeout=RENDER_S * 1000)
    expect(status).to_contain_text(f"Rendered {NUM_FRAMES} of {NUM_FRAMES} frames")
    media = page.locator("img.gnb-output-media, .gnb-output-media img").first
    expect(media).to_have_attribute("src", _non_empty(), timeout=ACTION_S * 1000)
    expect(page.locator(".gnb-output-info")).to_contain_text("Run folder")
    expect(page.locator(".gnb-output-info a[download]")).to_have_count(1)

    # Pick frame 2 on the slider, then send it to the image input.
    _move_slider(page, expect, PICKED_FRAME)
    send = page.locator("button.gnb-send-image")
    expect(send).to_be_enabled()
    send.click()
    message = page.locator(".gnb-output-message")
    expect(message).to_contain_text(f"Frame {PICKED_FRAME} is now the image input")

    _open_section(page, "Image input")
    image_input = page.locator(".gnb-image-input input")
    expect(image_input).to_be_visible()
    expect(image_input).to_have_value(_ends_with(f"frame-{PICKED_FRAME:04d}.png"))


def _open_section(page, title: str) -> None:
    """Open the accordion section ``title`` (a click on an open one would close it)."""
    header = page.locator(".jupyter-widget-Collapse-header", has_text=title).first
    header.wait_for(state="visible")
    collapse = header.locator("xpath=..")
    opened = "jupyter-widget-Collapse-open"
    if opened not in (collapse.get_attribute("class") or ""):
        header.click()
    page.wait_for_function(
        "([el, cls]) => el.classList.contains(cls)",
        arg=[collapse.element_handle(), opened],
        timeout=ACTION_S * 1000,
    )


def _move_slider(page, expect, value: int) -> None:
    """Set the frame slider with the keyboard (noUiSlider's handle takes arrow keys)."""
    slider = page.locator(".gnb-frame-slider")
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text("0")
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(value):
        handle.press("ArrowRight")
    expect(readout).to_have_text(str(value))


def _full_page_screenshot(page, path: Path) -> None:
    """A screenshot of the whole dashboard: Voilà scrolls inside a page-high container, not
    the document, so the viewport first grows to the tallest scrolled content."""
    height = page.evaluate(
        """() => {
            let height = document.documentElement.scrollHeight;
            for (const el of document.querySelectorAll('*')) {
                const overflow = getComputedStyle(el).overflowY;
                if ((overflow === 'auto' || overflow === 'scroll')
                        && el.scrollHeight > el.clientHeight) {
                    height = Math.max(height, el.scrollHeight + el.getBoundingClientRect().top);
                }
            }
            return Math.ceil(height);
        }"""
    )
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.set_viewport_size({"width": width, "height": min(max(int(height) + 40, 600), 12_000)})
    page.screenshot(path=str(path), full_page=True)


def _non_empty():
    import re

    return re.compile(r"\S+")


def _ends_with(suffix: str):
    import re

    return re.compile(re.escape(suffix) + r"$")


def _check_files(server: Server) -> None:
    runs = [d for d in server.output_dir.iterdir() if d.is_dir() and d.name != "inputs"]
    assert len(runs) == 1, f"expected one run folder in {server.output_dir}: {runs}"
    run = runs[0]
    frames = sorted(p.name for p in (run / "frames").glob("*.png"))
    assert frames == [f"{i:04d}.png" for i in range(NUM_FRAMES)], frames
    # What was typed in the browser reached the kernel's settings.
    saved = json.loads((run / "settings.json").read_text(encoding="utf-8"))
    typed = {k: saved.get(k) for k in ("prompts", "num_inference_steps", "height", "width")}
    assert typed == {
        "prompts": PROMPTS,
        "num_inference_steps": int(STEPS),
        "height": 64,
        "width": 64,
    }, typed
    gifs = list(run.glob("*.gif"))
    assert len(gifs) == 1, f"expected one GIF in {run}: {sorted(p.name for p in run.iterdir())}"
    with Image.open(gifs[0]) as gif:
        assert gif.n_frames == NUM_FRAMES, gif.n_frames
        assert gif.size == (64, 64), gif.size
    picked = list((server.output_dir / "inputs").glob(f"*frame-{PICKED_FRAME:04d}.png"))
    assert len(picked) == 1, f"no frame-{PICKED_FRAME:04d}.png under inputs/: {picked}"
    with Image.open(picked[0]) as image:
        assert image.size == (64, 64), image.size


def _diagnostics(page, server: Server, error: Exception, tmp_path: Path) -> str:
    try:
        status = page.locator(".gnb-status").inner_text(timeout=2000)
    except Exception as exc:
        status = f"(unreadable: {type(exc).__name__})"
    shot = tmp_path / "failure.png"
    with contextlib.suppress(Exception):
        page.screenshot(path=str(shot), full_page=True, timeout=10_000)
    return (
        f"dashboard test failed: {type(error).__name__}: {error}\n"
        f"status line: {status!r}\n"
        f"failure screenshot: {shot if shot.exists() else '(none)'}\n"
        f"--- last lines of the Voilà log ({server.log}) ---\n{_log_tail(server.log)}"
    )
