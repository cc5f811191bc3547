"""What the browser test needs around the page: a Voilà server on a free loopback port (as
`make dashboard` runs it), its kernels, and small helpers to drive and read the dashboard."""

from __future__ import annotations

import base64
import contextlib
import io
import os
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

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "giffusion.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 90  # until Voilà answers HTTP
ACTION_S = 30  # a widget round trip

# Records every text any action's feedback line shows (busy states are brief).
FEEDBACK_RECORDER = """() => {
    window.gnbSeen = [];
    const record = () => {
        for (const el of document.querySelectorAll('.gnb-feedback')) {
            const text = el.innerText.trim();
            if (text && !window.gnbSeen.includes(text)) window.gnbSeen.push(text);
        }
    };
    new MutationObserver(record).observe(document.body,
        {subtree: true, childList: true, characterData: true});
}"""
# The pixels an <img> shows (also a hidden one), as a PNG data URL.
IMAGE_DATA_URL = """(img) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext('2d').drawImage(img, 0, 0);
    return canvas.toDataURL('image/png');
}"""
# Each setting row: the classes of its widget, its label's text and tooltip, the widget's tooltip.
FIELD_ROWS = """() => [...document.querySelectorAll('.gnb-field')].map(box => {
    const label = box.querySelector('.gnb-field-label span');
    const widget = box.querySelector('[class*="gnb-"]:not(.gnb-field-label):not(.gnb-field-error)');
    const titled = widget && (widget.title ? widget : widget.querySelector('[title]'));
    return {classes: widget ? [...widget.classList] : [], label: label ? label.innerText : '',
            labelTitle: label ? label.title : '', widgetTitle: titled ? titled.title : ''};
})"""
# Images shown on the page that did not load (the browser's broken-image icon).
BROKEN_IMAGES = """() => [...document.querySelectorAll('img')]
    .filter(img => img.offsetParent !== null && !(img.complete && img.naturalWidth > 0))
    .map(img => img.className)"""


@dataclass
class Server:
    url: str
    log: Path
    output_dir: Path
    process: subprocess.Popen

    @property
    def probe_url(self) -> str:
        # A static file: any GET of the notebook's page starts a kernel that runs the notebook.
        return self.url + "voila/static/extension.js"

    def kernels(self) -> list[int]:
        """The ids of the kernel processes the server runs now."""
        found = []
        for pid in descendants(self.process.pid):
            with contextlib.suppress(OSError):
                if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found


@contextlib.contextmanager
def voila_server(tmp_path: Path, *extra: str) -> Iterator[Server]:
    """``voila notebooks/giffusion.ipynb`` as `make dashboard` serves it (the giffusion template,
    the repository's voila.json), on a free port, writing into ``tmp_path``."""
    port = _free_port()
    workdir, output_dir, log = tmp_path / "voila-cwd", tmp_path / "outputs", tmp_path / "voila.log"
    workdir.mkdir()
    output_dir.mkdir()
    env = {  # the default model, builtin:shapes-sd, as `make dashboard` serves it
        **{name: value for name, value in os.environ.items() if name != "GIFFUSION_MODEL"},
        "GIFFUSION_OUTPUT_DIR": str(output_dir),
        "JUPYTER_PATH": str(REPO / "share" / "jupyter"),
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
        "--template=giffusion",
        f"--Voila.config_file_paths={REPO}",
        "--show_tracebacks=True",
        *extra,
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
        stop(process)


def log_tail(log: Path, lines: int = 60) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no Voilà log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def open_section(page, title: str) -> None:
    """Open the settings section ``title`` (a click on an open one would close it)."""
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


def field_error(page, name: str):
    """The error line under setting ``name``'s widget."""
    widget = page.locator(f".gnb-{name.replace('_', '-')}")
    return page.locator(".gnb-field", has=widget).locator(".gnb-field-error")


def type_into(page, name: str, text: str) -> None:
    """Type ``text`` into setting ``name``'s text box, as a user does (every key an update)."""
    box = page.locator(
        f".gnb-{name.replace('_', '-')} input, .gnb-{name.replace('_', '-')} textarea"
    )
    box.first.fill(text)
    box.first.press("Tab")


def shown_pixels(page, selector: str) -> np.ndarray:
    """The RGB pixels of the image ``selector`` shows, read back from the browser."""
    url = page.locator(selector).first.evaluate(IMAGE_DATA_URL)
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def move_slider(page, expect, value: int) -> None:
    """Set the frame slider with the keyboard (noUiSlider's handle takes arrow keys)."""
    slider = page.locator(".gnb-frame-slider")
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text("0")
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(value):
        handle.press("ArrowRight")
    expect(readout).to_have_text(str(value))


def full_page_screenshot(page, path: Path) -> None:
    """The whole dashboard: Voilà scrolls inside a page-high container, not the document, so
    the viewport first grows to the tallest scrolled content (and is put back after)."""
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
    size = page.viewport_size or {"width": 1280, "height": 800}
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 40, 600), 12_000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"Voilà exited with {server.process.returncode} before answering\n"
                f"--- Voilà log ---\n{log_tail(server.log)}"
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
        f"--- Voilà log ---\n{log_tail(server.log)}"
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


def descendants(pid: int) -> dict[int, str]:
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


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left of it. Kernels run in
    their own sessions, so the server's descendants are also ended by their ids."""
    kernels = descendants(process.pid)
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
