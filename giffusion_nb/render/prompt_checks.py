"""What a render's prompts ask of its family: key-frame negatives need guidance, weights need
compel's families and prompt embeddings; and the text each key frame's prompt is encoded from."""

from __future__ import annotations

from giffusion_nb.errors import SettingsError
from giffusion_nb.frozen import thaw
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.keyframes.weights import WeightedPrompt, is_weighted, prompt_input
from giffusion_nb.pipelines.families import FAMILIES, Family
from giffusion_nb.render.spec import RenderSpec

_WEIGHTS = "`(word:1.3)`, `(word)` or `[word]`"


def check_prompts(spec: RenderSpec, family: Family) -> None:
    """Each key frame's negative prompt has an effect and every weight can be encoded, or a
    ``SettingsError`` names the line (``negative_prompt`` for the setting's own weights)."""
    s = spec.settings
    guidance = family.uses_guidance(spec.most_guidance, thaw(s.pipeline_kwargs))
    for key_frame in spec.plan.key_frames:
        if key_frame.negative is not None:
            _check_negative(key_frame, family, guidance)
        texts = {"prompt": key_frame.prompt, "negative prompt": key_frame.negative}
        for what, text in texts.items():
            if text is not None and is_weighted(text):
                where = f"the {what} of key frame {key_frame.frame}"
                _check_weights(spec, family, "prompts", where, key_frame.line)
    if is_weighted(s.negative_prompt):
        _check_weights(spec, family, "negative_prompt", "it", None)


def _check_negative(key_frame: KeyFrame, family: Family, guidance: bool) -> None:
    where = f"key frame {key_frame.frame}'s negative prompt (`--neg`)"
    if not family.takes_negative_prompt:
        raise SettingsError(
            "prompts",
            f"{family.name} pipelines take no negative prompt: remove {where}",
            line=key_frame.line,
        )
    if not guidance:
        raise SettingsError(
            "prompts",
            f"{where} has no effect without classifier-free guidance (guidance_scale <= 1); "
            "raise guidance_scale or remove it",
            line=key_frame.line,
        )


def _check_weights(
    spec: RenderSpec, family: Family, field: str, what: str, line: int | None
) -> None:
    if not family.prompt_weighting:
        raise SettingsError(
            field,
            f"{what} weights words ({_WEIGHTS}), which {family.name} pipelines cannot encode "
            f"(compel weights the CLIP prompts of {weighting_families()}); remove the weights, "
            "or write \\( \\) \\[ \\] for literal brackets",
            line=line,
        )
    if not spec.settings.use_prompt_embeds:
        raise SettingsError(
            field,
            f"{what} weights words ({_WEIGHTS}): weights are encoded into prompt embeddings, "
            "so turn use_prompt_embeds on (or remove the weights)",
            line=line,
        )


def weighting_families() -> str:
    """The families whose prompts compel can weight, as people name them."""
    return ", ".join(family.name for family in FAMILIES if family.prompt_weighting)


def key_frame_texts(
    key_frame: KeyFrame, negative_prompt: str
) -> tuple[str | WeightedPrompt, str | WeightedPrompt]:
    """What a key frame's prompt and negative prompt are encoded from: plain text, or a
    weighted prompt; its own negative, else the ``negative_prompt`` setting."""
    negative = negative_prompt if key_frame.negative is None else key_frame.negative
    return prompt_input(key_frame.prompt), prompt_input(negative)
