"""The package's layers: imports only go down, no module imports itself round a circle,
widgets stay in ui/ and diffusers in pipelines/ (and the built-in model's own training)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "giffusion_nb"
# A module may import its own group and the groups of lower layers.
LAYERS = {
    "errors": 0,
    "choices": 1,
    "frozen": 1,
    "frame_rate": 1,
    "limits": 1,
    "coercion": 2,
    "animation_settings": 2,
    "video_settings": 2,
    "keyframes": 2,
    "media": 3,
    "settings": 3,
    "output": 4,
    "pipelines": 4,
    "validation": 5,
    "render": 6,
    "shapes": 7,
    "ui": 7,
    "bench": 8,
    "cli": 9,
}
WIDGETS = ("ipywidgets", "ipympl")
DIFFUSERS_HOMES = ("pipelines", "shapes")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports() -> dict[str, set[str]]:
    """Every module's imports (at any depth of the code, lazy ones included)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[_module(path)] = names
    return found


IMPORTS = _imports()


def test_every_group_has_a_layer():
    groups = {_group(module) for module in IMPORTS} - {""}
    assert groups <= set(LAYERS), groups - set(LAYERS)


def test_imports_only_go_down_the_layers():
    upward = []
    for module, names in IMPORTS.items():
        here = _group(module)
        for name in names:
            there = _group(name)
            if not name.startswith("giffusion_nb.") or there in ("", here):
                continue
            if here and LAYERS[there] >= LAYERS[here]:
                upward.append(f"{module} -> {name}")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circles():
    graph = {
        module: {name for name in names if name in IMPORTS and name != module}
        for module, names in IMPORTS.items()
    }
    circles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                circles.append(" -> ".join([*path[path.index(name) :], name]))
            elif name not in state:
                visit(name, [*path, name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def test_widgets_live_in_ui_and_diffusers_in_pipelines():
    misplaced = []
    for module, names in IMPORTS.items():
        group = _group(module)
        if group != "ui" and any(name.split(".")[0] in WIDGETS for name in names):
            misplaced.append(f"{module} imports widgets")
        if group not in DIFFUSERS_HOMES and any(
            name.split(".")[0] == "diffusers" for name in names
        ):
            misplaced.append(f"{module} imports diffusers")
    assert not misplaced, misplaced


# Words that name a pipeline family (its models, its diffusers classes); a family is said in
# its module under pipelines/families/, and models are built by the tiny and published-shape
# builders and the built-in model's training (shapes/), nowhere else.
FAMILY_WORDS = re.compile(
    r"animatediff|pixart|flux|sdxl|stablediffusion|stable diffusion|instructpix2pix|"
    r"\bsd ?3|\bsd ?1\.5|\bsd15\b|\bsana\b|\blumina|\bchroma\b|cogview|qwen|auraflow|hunyuan|"
    r"\bwan\b|\bltx|kolors|\bhidream",
    re.IGNORECASE,
)
FAMILY_HOMES = ("giffusion_nb/pipelines/families/", "giffusion_nb/shapes/")
BUILDERS = re.compile(r"giffusion_nb/pipelines/(tiny_\w+|published_shapes)\.py$")


def test_no_family_is_named_outside_its_family_module():
    named = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent).as_posix()
        if where.startswith(FAMILY_HOMES) or BUILDERS.search(where):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            found = FAMILY_WORDS.search(line)
            if found:
                named.append(f"{where}:{number}: {found.group()!r} in {line.strip()[:80]}")
    assert not named, "\n".join(named)
