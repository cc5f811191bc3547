"""LoRA adapters of the `lora` setting: where each one's weights are, loaded once into a pipeline
(diffusers' ``load_lora_weights`` with peft, safetensors only), and scaled around each call."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.lora_text import LoraLine
from giffusion_nb.limits import file_kind

ADAPTER_PREFIX = "gnb_"  # the adapters giffusion_nb loads; other adapters are left alone
SAFETENSORS = ".safetensors"
_HUB_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_HUB_REPO = re.compile(rf"{_HUB_PART}/{_HUB_PART}")
# A LoRA layer is one of these keys in a file (diffusers', peft's and kohya's names).
_LAYER_KEYS = (".lora_A.weight", ".lora.down.weight", ".lora_down.weight")


@dataclass(frozen=True)
class LoraSource:
    """Where one adapter's weights are: a local folder or a Hub repo, and the file in it."""

    location: str
    weight_name: str
    local: bool


def resolve_source(source: str, line: int, *, field: str = "lora") -> LoraSource:
    """A line's source as a local ``.safetensors`` file, a folder holding one, a Hub repo
    (``owner/name``, its one ``.safetensors`` file found at load) or a Hub file
    (``owner/name/file.safetensors``); a local path that is missing is an error."""
    path = Path(source).expanduser()
    _check_kind(path, source, line, field)
    if path.is_file():
        if path.suffix != SAFETENSORS:
            raise SettingsError(
                field,
                f"{source!r} is not a {SAFETENSORS} file; only safetensors files are loaded "
                "(pickled .bin/.pt files can run code)",
                line=line,
            )
        return LoraSource(str(path.parent), path.name, local=True)
    if path.is_dir():
        return LoraSource(str(path), _folder_weight(path, source, line, field), local=True)
    parts = source.split("/")
    looks_local = source.startswith(("/", ".", "~")) or "\\" in source or len(parts) < 2
    if looks_local or (len(parts) == 2 and source.endswith(SAFETENSORS)):
        raise SettingsError(
            field,
            f"no such file or folder: {source!r} (an adapter on the Hub is owner/name or "
            "owner/name/file.safetensors)",
            line=line,
        )
    if not _HUB_REPO.fullmatch("/".join(parts[:2])) or ".." in parts:
        raise SettingsError(
            field,
            f"{source!r} is neither a local file or folder nor a Hub id like owner/name",
            line=line,
        )
    if len(parts) == 2:
        return LoraSource(source, "", local=False)
    if not source.endswith(SAFETENSORS):
        raise SettingsError(
            field,
            f"{source!r}: a file on the Hub must be a {SAFETENSORS} file "
            "(owner/name/file.safetensors)",
            line=line,
        )
    return LoraSource("/".join(parts[:2]), "/".join(parts[2:]), local=False)


def _check_kind(path: Path, source: str, line: int, field: str) -> None:
    """A local source that exists is a file or a folder: a named pipe, a device (``/dev/zero``)
    or a link that loops is refused by what it is, without opening it (a pipe would block)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SettingsError(
                field, f"{source!r} is a symbolic link that loops; expected a file", line=line
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
            return  # missing: a Hub id, or an error below
        raise SettingsError(
            field, f"cannot read {source!r}: {exc.strerror or exc}", line=line
        ) from None
    except ValueError:  # a NUL character: no such path
        return
    kind = "a character device" if stat.S_ISCHR(mode) else file_kind(mode)
    if kind is not None and not stat.S_ISDIR(mode):
        raise SettingsError(
            field,
            f"{source!r} is {kind}, not a file; expected a {SAFETENSORS} file or a folder "
            "holding one",
            line=line,
        )


def _folder_weight(folder: Path, source: str, line: int, field: str) -> str:
    """The one ``.safetensors`` file of a folder."""
    names = sorted(path.name for path in folder.glob(f"*{SAFETENSORS}"))
    if len(names) == 1:
        return names[0]
    if not names:
        raise SettingsError(field, f"the folder {source!r} holds no {SAFETENSORS} file", line=line)
    raise SettingsError(
        field,
        f"the folder {source!r} holds {len(names)} {SAFETENSORS} files ({', '.join(names[:4])}); "
        "name one of them",
        line=line,
    )


@dataclass(frozen=True)
class LoraAdapters:
    """The render's adapters, loaded into ``pipe`` (and the siblings sharing its weights) and
    switched off between calls; ``text_encoder`` when some have text-encoder layers (the
    prompt embeddings then depend on the scales)."""

    pipe: Any
    names: tuple[str, ...]
    text_encoder: bool

    @contextmanager
    def scaled(self, scales: Sequence[float]) -> Iterator[None]:
        """The adapters on at ``scales`` (one per adapter) for a call, always off after it."""
        self.pipe.enable_lora()
        try:
            self.pipe.set_adapters(list(self.names), [float(scale) for scale in scales])
            yield
        finally:
            self.pipe.disable_lora()


def load_adapters(pipe: Any, family_name: str, lines: Sequence[LoraLine]) -> LoraAdapters:
    """Load the adapters ``lines`` list into ``pipe`` unless loaded already (an adapter's name
    says its source and file), dropping adapters of earlier `lora` texts; they stay off
    until a call scales them. A file that is missing, unreadable or made for another model
    is an error naming its line; nothing is half loaded."""
    if not hasattr(pipe, "load_lora_weights"):
        raise SettingsError(
            "lora",
            f"{family_name} pipelines ({type(pipe).__name__}) have no LoRA loading in diffusers; "
            "clear lora",
        )
    sources = [resolve_source(line.source, line.line) for line in lines]
    names = tuple(_adapter_name(index, source) for index, source in enumerate(sources))
    loaded = _loaded(pipe)
    stale = sorted(_ours(loaded) - set(names))
    if stale:
        pipe.delete_adapters(stale)
    new = []
    try:
        for line, source, name in zip(lines, sources, names, strict=True):
            if not any(name in adapters for adapters in loaded.values()):
                new.append(name)
                _load_one(pipe, family_name, line, source, name)
    except BaseException:
        present = set().union(*_loaded(pipe).values())
        half_loaded = [name for name in new if name in present]
        if half_loaded:
            pipe.delete_adapters(half_loaded)
        raise
    finally:
        pipe.disable_lora()  # a loaded adapter is on: off until a call scales it
    text = any(
        component.startswith("text_encoder") and set(adapters) & set(names)
        for component, adapters in _loaded(pipe).items()
    )
    return LoraAdapters(pipe, names, text)


def drop_adapters(pipe: Any) -> None:
    """Delete the adapters giffusion_nb loaded into ``pipe`` (a render without `lora`)."""
    if hasattr(pipe, "get_list_adapters"):
        ours = sorted(_ours(_loaded(pipe)))
        if ours:
            pipe.delete_adapters(ours)


def _loaded(pipe: Any) -> dict[str, list[str]]:
    """The adapters of each of the pipeline's components."""
    return pipe.get_list_adapters()


def _ours(loaded: dict[str, list[str]]) -> set[str]:
    return {name for names in loaded.values() for name in names if name.startswith(ADAPTER_PREFIX)}


def _adapter_name(index: int, source: LoraSource) -> str:
    """A name that changes with the adapter's file (its size and time for a local one)."""
    identity = f"{source.location}|{source.weight_name}|{source.local}"
    if source.local:
        stat = (Path(source.location) / source.weight_name).stat()
        identity += f"|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{ADAPTER_PREFIX}{index}_{digest}"


def _load_one(pipe: Any, family_name: str, line: LoraLine, source: LoraSource, name: str) -> None:
    weight = {"weight_name": source.weight_name} if source.weight_name else {}
    try:
        with warnings.catch_warnings():  # peft warns of every adapter after the first
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            pipe.load_lora_weights(
                source.location, adapter_name=name, use_safetensors=True, **weight
            )
    except RuntimeError as exc:  # weights of other shapes than the model's layers
        raise SettingsError(
            "lora",
            f"{line.source!r} does not fit this {family_name} model (made for another one?): "
            f"{_reason(exc)}",
            line=line.line,
        ) from exc
    except Exception as exc:  # missing on the Hub, offline, not a LoRA, not safetensors…
        raise SettingsError(
            "lora", f"could not load {line.source!r}: {_reason(exc)}", line=line.line
        ) from exc
    _check_fits(pipe, family_name, line, source, name)
    _check_finite(pipe, line, name)


def _check_finite(pipe: Any, line: LoraLine, name: str) -> None:
    """Every weight of the loaded adapter is a finite number: NaN or infinity in a LoRA turns
    every frame into one colour, even at scale 0 (0 × NaN is NaN)."""
    import torch

    for component in _loaded(pipe):
        model = getattr(pipe, component, None)
        if model is None:
            continue
        for parameter_name, parameter in model.named_parameters():
            if f".{name}." not in parameter_name or torch.isfinite(parameter).all():
                continue
            what = " and ".join(
                word
                for word, found in (
                    ("NaN", torch.isnan(parameter).any()),
                    ("infinity", torch.isinf(parameter).any()),
                )
                if found
            )
            layer = parameter_name.replace(f".{name}", "")
            raise SettingsError(
                "lora",
                f"{line.source!r} holds {what} in its weights ({component}: {layer}); such "
                "an adapter turns every frame into one colour at any scale (the file is "
                "damaged, or its training diverged)",
                line=line.line,
            )


def _check_fits(pipe: Any, family_name: str, line: LoraLine, source: LoraSource, name: str) -> None:
    """Every LoRA layer of the file found a layer of the model to adapt, or it is an error."""
    layers = sum(_layers_of(getattr(pipe, component, None), name) for component in _loaded(pipe))
    expected = _file_layers(source)
    if layers == 0 or (expected is not None and layers < expected):
        of = "none" if layers == 0 else f"only {layers}"
        total = "" if expected is None else f" of its {expected}"
        raise SettingsError(
            "lora",
            f"{of}{total} LoRA layers of {line.source!r} fit this {family_name} model's layers: "
            "the adapter is made for another model",
            line=line.line,
        )


def _layers_of(model: Any, name: str) -> int:
    if model is None:
        return 0
    return sum(name in getattr(module, "lora_A", ()) for module in model.modules())


def _file_layers(source: LoraSource) -> int | None:
    """The LoRA layers a safetensors file holds (read from its header), if it is on disk."""
    from safetensors import safe_open

    path = _local_file(source)
    if path is None:
        return None
    with safe_open(str(path), framework="pt") as weights:
        return sum(key.endswith(_LAYER_KEYS) for key in weights.keys())  # noqa: SIM118


def _local_file(source: LoraSource) -> Path | None:
    if source.local:
        return Path(source.location) / source.weight_name
    if not source.weight_name:
        return None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source.location, source.weight_name)
    return Path(cached) if isinstance(cached, str) else None


def _reason(error: BaseException) -> str:
    """The first two lines of an error (a state-dict error names its first mismatch there)."""
    lines = [line.strip() for line in str(error).strip().splitlines()[:2]]
    return f"{type(error).__name__}: {' '.join(lines)}"[:400]
