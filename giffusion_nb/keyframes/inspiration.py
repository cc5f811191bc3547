"""Give me some inspiration: topics -> key-framed prompts, offline or from a language model."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import numbers
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import NEGATIVE_MARK, KeyFrame, format_prompts
from giffusion_nb.keyframes.shape_prompts import (
    SHAPES_MODEL,
    ShapesPromptGenerator,
    unknown_topics_note,
)
from giffusion_nb.keyframes.weights import escape_weights

DEFAULT_PROMPT_MODEL = "Gustavosta/MagicPrompt-Stable-Diffusion"
MIN_FPS, MAX_FPS = 1, 120
MAX_COUNT = 100
MAX_TOPICS = 100
MAX_TOPIC_LENGTH = 200

SUBJECTS = (
    "a corgi",
    "a lion",
    "a lighthouse",
    "a red fox",
    "an old sailing ship",
    "a hot air balloon",
    "a snow owl",
    "a koi pond",
    "a clockwork robot",
    "a paper crane",
    "a ruined castle",
    "a jellyfish",
    "a giant sunflower",
    "a steam locomotive",
    "a humpback whale",
    "a tiny cottage",
    "a dragon made of glass",
    "an astronaut",
    "a bonsai tree",
    "a hummingbird",
    "a stone bridge",
    "a fox spirit",
    "a treehouse",
    "a chess knight",
    "a cathedral",
    "a tortoise carrying a village",
    "a wandering monk",
    "a lantern festival",
    "a desert caravan",
    "a mechanical butterfly",
)
SETTINGS = (
    "on a misty mountain ridge",
    "in a neon-lit alley",
    "beneath a starry sky",
    "in an overgrown greenhouse",
    "on a frozen lake",
    "in a sunken city",
    "at the edge of a waterfall",
    "in a field of lavender",
    "inside a crystal cave",
    "on a floating island",
    "in a quiet library",
    "by a stormy sea",
    "in a bamboo forest",
    "on the surface of the moon",
    "in a bustling night market",
    "among autumn maple trees",
    "in a desert of red dunes",
    "on a rooftop garden",
    "in a candle-lit cathedral",
    "under a cherry blossom tree",
    "in a snowy pine forest",
    "on a winding country road",
    "in a cloud kingdom",
    "beside a volcanic lake",
)
STYLES = (
    "art nouveau",
    "studio ghibli inspired",
    "ukiyo-e",
    "surrealism",
    "art deco",
    "impressionism",
    "cyberpunk",
    "steampunk",
    "pre-raphaelite",
    "minimalist",
    "baroque",
    "vaporwave",
    "fantasy concept art",
    "bauhaus",
    "dreamlike storybook",
    "retro futurism",
)
LIGHTING = (
    "golden hour light",
    "soft morning light",
    "moonlight",
    "dramatic rim lighting",
    "volumetric god rays",
    "neon glow",
    "overcast diffuse light",
    "candlelight",
    "bioluminescent glow",
    "blue hour light",
    "dappled sunlight",
    "aurora light",
)
MEDIUMS = (
    "watercolor",
    "oil painting",
    "digital painting",
    "charcoal sketch",
    "gouache",
    "linocut print",
    "35mm photograph",
    "pastel drawing",
    "ink wash",
    "3d render",
    "stained glass",
    "colored pencil",
)


class PromptGenerator(Protocol):
    """Turns topics (or, without topics, ``count`` made-up subjects) into prompts."""

    def prompts(self, topics: Sequence[str], count: int, seed: int) -> list[str]:
        """One prompt per topic, or ``count`` prompts when ``topics`` is empty."""
        ...


@dataclass(frozen=True)
class Inspiration:
    """Key-framed prompt text, what wrote it, and why a requested model wasn't used (if so)."""

    text: str
    source: str
    message: str


def clean_prompt(text: str) -> str:
    """One safe prompt line: no control characters, colons or line breaks, single spaces, a
    ``--neg`` word as ``neg`` (brackets are escaped when the key frames are written)."""
    kept = "".join(
        " " if char == ":" else char
        for char in text
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs") or char.isspace()
    )
    words = ("neg" if word == NEGATIVE_MARK else word for word in kept.split())
    return " ".join(words).strip(" ,;")


def parse_topics(text: str | Sequence[str]) -> list[str]:
    """Topics from comma- or line-separated text, or a list (one topic per item), cleaned."""
    if isinstance(text, str):
        pieces = [piece for line in text.splitlines() for piece in line.split(",")]
    elif isinstance(text, Sequence) and all(isinstance(item, str) for item in text):
        pieces = list(text)
    else:
        raise SettingsError(
            "inspiration_topics", f"expected text or a list of text, got {type(text).__name__}"
        )
    for number, piece in enumerate(pieces, start=1):
        if NEGATIVE_MARK in piece.split():
            raise SettingsError(
                "inspiration_topics",
                f"topic {number} has `{NEGATIVE_MARK}`: topics are subjects; write a negative "
                f"prompt after `{NEGATIVE_MARK}` in the prompts instead",
            )
    topics = [topic for topic in map(clean_prompt, pieces) if topic]
    if len(topics) > MAX_TOPICS:
        raise SettingsError(
            "inspiration_topics", f"{len(topics)} topics given; at most {MAX_TOPICS}"
        )
    for number, topic in enumerate(topics, start=1):
        if len(topic) > MAX_TOPIC_LENGTH:
            raise SettingsError(
                "inspiration_topics",
                f"topic {number} is {len(topic)} characters long; at most {MAX_TOPIC_LENGTH}",
            )
    return topics


def _stable_int(*parts: object) -> int:
    """A 63-bit integer from the parts, the same in every process (unlike ``hash``)."""
    digest = hashlib.sha256(json.dumps(parts).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _subjects(topics: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """The cleaned topics, or ``count`` subjects from the list (each once before any repeats)."""
    if topics:
        return [clean_prompt(topic) or rng.choice(SUBJECTS) for topic in topics]
    shuffled = rng.sample(SUBJECTS, len(SUBJECTS))
    return [shuffled[index % len(shuffled)] for index in range(count)]


class OfflinePromptGenerator:
    """Subject + setting + style + lighting + medium from word lists, seeded; always works.

    The choices are seeded from the seed and the topics. One style and medium hold for
    the whole animation so the key frames blend; setting and lighting change per prompt.
    """

    def prompts(self, topics: Sequence[str], count: int, seed: int) -> list[str]:
        """E.g. ``a corgi on a misty ridge, art nouveau, golden hour light, watercolor``."""
        rng = random.Random(_stable_int("offline", seed, list(topics)))
        subjects = _subjects(topics, count, rng)
        style, medium = rng.choice(STYLES), rng.choice(MEDIUMS)
        return [
            f"{subject} {rng.choice(SETTINGS)}, {style}, {rng.choice(LIGHTING)}, {medium}"
            for subject in subjects
        ]


class TransformersPromptGenerator:
    """A transformers causal LM + tokenizer (Hub id or local folder) continues each topic."""

    def __init__(
        self,
        model_id: str = DEFAULT_PROMPT_MODEL,
        *,
        device: str | None = None,
        max_new_tokens: int = 40,
    ) -> None:
        """Load the tokenizer and model; ``device`` None means the CPU (the GPU stays free)."""
        self.model_id = model_id
        self.max_new_tokens = max_new_tokens
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(model_id)
            self.model = AutoModelForCausalLM.from_pretrained(model_id).to(device or "cpu").eval()
        except Exception as error:  # hub, file, config and import errors all mean "unusable"
            raise SettingsError(
                "inspiration_model", f"could not load {model_id}: {_reason(error)}"
            ) from error

    def prompts(self, topics: Sequence[str], count: int, seed: int) -> list[str]:
        """Continue each topic (or ``count`` listed subjects) with its own derived seed."""
        starts = _subjects(topics, count, random.Random(_stable_int("subjects", seed)))
        return [
            self._continue(start, _stable_int("model", seed, start, index))
            for index, start in enumerate(starts)
        ]

    def _continue(self, start: str, seed: int) -> str:
        """Sample a continuation of ``start`` without touching the global torch RNG state."""
        import torch

        device = self.model.device
        device_count = 0 if device.type == "cpu" else getattr(torch, device.type).device_count()
        pad_token_id = self.tokenizer.pad_token_id
        if pad_token_id is None:
            pad_token_id = self.tokenizer.eos_token_id
        inputs = self.tokenizer(start, return_tensors="pt").to(device)
        with (
            torch.random.fork_rng(devices=range(device_count), device_type=device.type),
            torch.inference_mode(),
        ):
            torch.manual_seed(seed)
            output = self.model.generate(
                **inputs,
                do_sample=True,
                top_k=50,
                top_p=0.95,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=pad_token_id,
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        continuation = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
        first_line = (start + continuation).splitlines()[0]
        return clean_prompt(first_line) or start


@functools.lru_cache(maxsize=2)
def load_prompt_generator(
    model_id: str = DEFAULT_PROMPT_MODEL, device: str | None = None
) -> TransformersPromptGenerator:
    """A loaded model generator, cached by ``(model_id, device)``; failed loads are not cached."""
    return TransformersPromptGenerator(model_id, device=device)


def _reason(error: BaseException) -> str:
    """The error's type and message on one line, shortened."""
    text = " ".join(f"{type(error).__name__}: {error}".split()).rstrip(".")
    return text if len(text) <= 300 else text[:299] + "…"


def _spacing(fps: float) -> int:
    """Frames between key frames: one second at ``fps``."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not math.isfinite(fps):
        raise SettingsError("fps", f"expected a number of frames per second, got {fps!r}")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise SettingsError("fps", f"{fps} is out of range; expected {MIN_FPS} to {MAX_FPS}")
    return max(1, round(float(fps)))


def _check_int(field: str, value: int, low: int | None = None, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingsError(field, f"expected a whole number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingsError(field, f"{value} is out of range; expected {low} to {high}")


def _checked(prompts: object, wanted: int) -> list[str]:
    """The generator's prompts cleaned, or ValueError if they can't fill ``wanted`` key frames."""
    if not isinstance(prompts, list) or not all(isinstance(prompt, str) for prompt in prompts):
        raise ValueError(f"expected a list of text, got {type(prompts).__name__}")
    if len(prompts) != wanted:
        raise ValueError(f"returned {len(prompts)} prompts; expected {wanted}")
    cleaned = [clean_prompt(prompt) for prompt in prompts]
    if not all(cleaned):
        raise ValueError("returned an empty prompt")
    return cleaned


def _name(generator: PromptGenerator) -> str:
    return getattr(generator, "model_id", None) or type(generator).__name__


def inspire(
    topics: str | Sequence[str] = "",
    *,
    fps: float = 10,
    seed: int = 0,
    count: int = 4,
    model_id: str | None = None,
    generator: PromptGenerator | None = None,
    for_model: str = "",
) -> Inspiration:
    """Key-framed prompts one second apart: one per topic, or ``count`` without topics.

    ``generator`` (or the model loaded from ``model_id``) writes them; if it can't be
    loaded or fails, the offline generator does and ``message`` says why. For the diffusion
    model ``for_model`` = ``builtin:shapes-sd`` the prompts are shapes captions it can draw
    (no language model is loaded: its prose would not be drawn).
    """
    spacing = _spacing(fps)
    _check_int("seed", seed)
    _check_int("inspiration_count", count, 1, MAX_COUNT)
    seed, count = int(seed), int(count)  # plain ints, also from numpy
    topic_list = parse_topics(topics)
    wanted = len(topic_list) or count
    message = ""
    offline: PromptGenerator = OfflinePromptGenerator()
    if for_model.strip() == SHAPES_MODEL:
        offline, model_id = ShapesPromptGenerator(), None
        message = unknown_topics_note(topic_list)
    if generator is None and model_id:
        try:
            generator = load_prompt_generator(model_id)
        except SettingsError as error:
            message = f"{error.message}; used the offline generator"
    prompts = None
    if generator is not None:
        try:
            prompts = _checked(generator.prompts(topic_list, count, seed), wanted)
        except Exception as error:  # any generation failure falls back to the offline lists
            message = f"{_name(generator)} failed: {_reason(error)}; used the offline generator"
    source = "offline" if prompts is None else _name(generator)
    if prompts is None:
        prompts = offline.prompts(topic_list, count, seed)
        source = getattr(offline, "model_id", source)
    key_frames = [  # brackets a topic or a model wrote are text, not weights
        KeyFrame(index * spacing, escape_weights(prompt)) for index, prompt in enumerate(prompts)
    ]
    return Inspiration(format_prompts(key_frames), source, message)
