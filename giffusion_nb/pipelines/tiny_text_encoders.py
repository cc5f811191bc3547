"""Small random-weight CLIP and T5 text encoders, and CLIP and T5 tokenizers built offline."""

from __future__ import annotations

import itertools
import string
from collections.abc import Sequence

T5_MAX_LENGTH = 512
# Characters the tiny T5 vocabulary spells words with; anything else becomes <unk>.
_T5_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation


def clip_text_encoder(
    tokenizer,
    *,
    hidden_size: int,
    intermediate_size: int,
    layers: int,
    heads: int,
    vocab_size: int | None = None,
    hidden_act: str = "quick_gelu",
    projection_dim: int | None = None,
    with_projection: bool = False,
):
    """A CLIP text encoder of this shape with random weights, on ``tokenizer``'s special ids.

    ``with_projection`` gives a ``CLIPTextModelWithProjection`` (SDXL's second encoder, SD3's
    two): its ``text_embeds`` are the pooled embedding the pipeline passes on.
    """
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab_size or len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=77,
        hidden_act=hidden_act,
        projection_dim=projection_dim or hidden_size,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return model(config)


def t5_tokenizer():
    """A T5 tokenizer whose vocabulary is ``<pad>``, ``</s>``, ``<unk>``, the word boundary ``▁``
    and each letter, digit and punctuation mark alone and word-initial (no downloads).

    Like T5's own it appends ``</s>`` and pads with ``<pad>`` (id 0); ids depend only on this
    fixed vocabulary, so they are the same after ``save_pretrained`` / ``from_pretrained``.
    """
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]
    vocab += [("▁" + char, -2.0) for char in _T5_ALPHABET]
    vocab += [(char, -2.5) for char in _T5_ALPHABET]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=T5_MAX_LENGTH)


def _t5_sizes(tokenizer, d_model: int, layers: int, heads: int) -> dict:
    """A T5 v1.1-style encoder's configuration (gated GELU, no dropout), shared by T5 and
    UMT5, of width ``d_model`` for ``tokenizer``."""
    return dict(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=d_model // heads,
        d_ff=2 * d_model,
        num_layers=layers,
        num_heads=heads,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        dropout_rate=0.0,
        feed_forward_proj="gated-gelu",
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )


def t5_encoder(tokenizer, *, d_model: int, layers: int = 2, heads: int = 4):
    """A T5 v1.1-style encoder (gated GELU, no dropout) of width ``d_model``, random weights."""
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(**_t5_sizes(tokenizer, d_model, layers, heads)))


def byte_level_clip_tokenizer(words: Sequence[str] = ()):
    """A CLIP tokenizer whose vocabulary is every byte, alone and word-final.

    Each of ``words`` also becomes one token: merges are appended that join what the merges
    before them leave of the word, left to right (appending never changes how an earlier word
    splits). Any other word still splits into bytes or known pieces.
    """
    from transformers import CLIPTokenizer

    specials = ["<|startoftext|>", "<|endoftext|>"]
    symbols = _byte_symbols()
    vocab = {token: i for i, token in enumerate(specials)}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    merges: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(words):
        pieces = apply_merges([*word[:-1], word[-1] + "</w>"], merges)
        while len(pieces) > 1:
            merges[(pieces[0], pieces[1])] = len(merges)
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            vocab.setdefault(pieces[0], len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=77)


def apply_merges(pieces: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair encoding of one word: join the best-ranked adjacent pair until none is known."""
    while len(pieces) > 1:
        pairs = [(ranks.get(pair), i) for i, pair in enumerate(itertools.pairwise(pieces))]
        known = [(rank, i) for rank, i in pairs if rank is not None]
        if not known:
            break
        _, i = min(known)
        pieces = [*pieces[:i], pieces[i] + pieces[i + 1], *pieces[i + 2 :]]
    return pieces


def _byte_symbols() -> list[str]:
    """The byte-level BPE alphabet: printable bytes stand for themselves, the rest are shifted."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    symbols, shift = {}, 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + shift)
            shift += 1
    return [symbols[byte] for byte in range(256)]


def umt5_encoder(tokenizer, *, d_model: int, layers: int = 2, heads: int = 4):
    """A UMT5 encoder (T5 v1.1 with per-layer relative positions) of width ``d_model``, random
    weights: AuraFlow's and Wan's text encoder at toy size."""
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(UMT5Config(**_t5_sizes(tokenizer, d_model, layers, heads)))
