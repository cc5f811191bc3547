"""Small character-level fast tokenizers built offline, standing in for the Gemma, GLM, Qwen and
BERT tokenizers of the tiny pipelines."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from giffusion_nb.pipelines.tiny_text_encoders import apply_merges

# Every tiny tokenizer spells text with these characters; anything else becomes the unknown token.
ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n"
# How text splits into pieces before characters are merged: words and runs of punctuation, each
# with the space before it (as GPT-2-style tokenizers split), and runs of other white space.
_PIECES = r" ?[A-Za-z0-9]+| ?[^\sA-Za-z0-9]+|\s+"
# Qwen's chat template (the one Qwen2.5 and Qwen3 tokenizers carry, without tools or thinking).
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)
QWEN_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


def char_tokenizer(
    *,
    pad: str,
    unk: str,
    bos: str | None = None,
    eos: str | None = None,
    specials: Sequence[str] = (),
    prefix: Sequence[str] = (),
    suffix: Sequence[str] = (),
    words: Sequence[str] = (),
    padding_side: str = "right",
    model_max_length: int = 512,
    chat_template: str | None = None,
):
    """A ``PreTrainedTokenizerFast`` whose vocabulary is its special tokens and ``ALPHABET``.

    Text splits into characters, except the pieces (words, with the space before them) of the
    texts in ``words``, which become one token each: a template that a pipeline counts in
    tokens keeps its real length. ``prefix`` and ``suffix`` are special tokens added around every
    text (``add_special_tokens=True``), as Gemma adds ``<bos>`` and BERT ``[CLS]`` / ``[SEP]``.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    named = [token for token in (pad, unk, bos, eos) if token is not None]
    special_tokens = list(dict.fromkeys([*named, *specials, *prefix, *suffix]))
    vocab = {token: i for i, token in enumerate(special_tokens)}
    for char in ALPHABET:
        vocab.setdefault(char, len(vocab))
    merges = _word_merges(words, vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(_PIECES), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(special_tokens)
    if prefix or suffix:
        template = " ".join([*prefix, "$A", *suffix])
        backend.post_processor = processors.TemplateProcessing(
            single=template,
            pair=f"{template} $B",
            special_tokens=[(token, vocab[token]) for token in dict.fromkeys([*prefix, *suffix])],
        )
    extra = [token for token in special_tokens if token not in named]
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=pad,
        unk_token=unk,
        bos_token=bos,
        eos_token=eos,
        additional_special_tokens=extra,
        padding_side=padding_side,
        model_max_length=model_max_length,
        chat_template=chat_template,
    )


def _word_merges(texts: Sequence[str], vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Merges that make each piece of ``texts`` one token (added to ``vocab``): appended ones
    join, left to right, what the merges before them leave of the piece, so an earlier piece
    never splits differently."""
    ranks: dict[tuple[str, str], int] = {}
    for text in texts:
        for piece in re.findall(_PIECES, text):
            if any(char not in ALPHABET for char in piece):
                continue
            parts = apply_merges(list(piece), ranks)
            while len(parts) > 1:
                ranks.setdefault((parts[0], parts[1]), len(ranks))
                parts = [parts[0] + parts[1], *parts[2:]]
                vocab.setdefault(parts[0], len(vocab))
    return list(ranks)


def gemma_tokenizer():
    """Gemma's special tokens (``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2, ``<unk>`` 3), ``<bos>``
    before every text, padding on the right (what Sana and Lumina 2 set)."""
    return char_tokenizer(
        pad="<pad>", eos="<eos>", bos="<bos>", unk="<unk>", prefix=["<bos>"], model_max_length=2048
    )


def glm_tokenizer():
    """GLM-4's special tokens, ``[gMASK]<sop>`` before every text, padding on the left (as the
    real one: CogView4 pads batch-longest and then left-pads to a multiple of 16)."""
    return char_tokenizer(
        pad="<|endoftext|>",
        unk="<unk>",
        eos="<|endoftext|>",
        specials=["<|user|>", "<|assistant|>"],
        prefix=["[gMASK]", "<sop>"],
        padding_side="left",
        model_max_length=8192,
    )


def qwen_tokenizer(words: Sequence[str] = ()):
    """Qwen2's special tokens (``<|endoftext|>`` pads), no tokens added around texts, Qwen's chat
    template; ``words`` as in ``char_tokenizer``."""
    return char_tokenizer(
        pad="<|endoftext|>",
        unk="<unk>",
        eos="<|im_end|>",
        specials=QWEN_SPECIALS,
        words=words,
        model_max_length=131072,
        chat_template=QWEN_CHAT_TEMPLATE,
    )


def bert_tokenizer():
    """BERT's special tokens, ``[CLS] ... [SEP]`` around every text, padding on the right."""
    return char_tokenizer(
        pad="[PAD]",
        unk="[UNK]",
        specials=["[MASK]"],
        prefix=["[CLS]"],
        suffix=["[SEP]"],
        model_max_length=512,
    )
