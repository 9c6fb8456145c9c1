"""A tiny Llama and a character tokenizer built in code: tests and the CPU demo, no Hub access.

The tokenizer maps each character of ``alphabet`` to one token (plus ``<pad>``, ``<bos>``,
``<eos>``, ``<unk>``), so rewards over characters are easy to reason about and a few hundred
optimizer steps on CPU are enough to see a policy learn.

>>> model, tok = tiny_model_and_tokenizer(seed=0)
>>> tok.decode(tok("abc")["input_ids"])
'abc'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

DEFAULT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 +-=?.,:"
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
# Chat messages render as their contents run together (no role markers: the alphabet is tiny).
CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
TINY_NAME = "tiny"  # the model name recipes use to ask for this model


def char_tokenizer(alphabet: str = DEFAULT_ALPHABET) -> PreTrainedTokenizerFast:
    """A fast tokenizer with one token per character of ``alphabet``; decoding concatenates.

    Its chat template joins the messages' contents, so chat-format datasets work too.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = list(dict.fromkeys(alphabet))
    vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *chars])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    # Every character is its own pre-token (whitespace included), so spaces survive a round trip.
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        padding_side="left",
        truncation_side="left",
        model_max_length=512,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_llama(
    vocab_size: int,
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 4,
    pad_token_id: int = 0,
    bos_token_id: int = 1,
    eos_token_id: int = 2,
    seed: int = 0,
) -> LlamaForCausalLM:
    """A randomly initialised Llama small enough to train on one CPU core in seconds."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=256,
        pad_token_id=pad_token_id,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id
    )
    return model


def tiny_model_and_tokenizer(
    alphabet: str = DEFAULT_ALPHABET, seed: int = 0, **model_kwargs: int
) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """A tiny Llama and its character tokenizer, consistent in vocabulary and special ids."""
    tok = char_tokenizer(alphabet)
    model = tiny_llama(
        len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        seed=seed,
        **model_kwargs,
    )
    return model, tok


def save_tiny(path: str | Path, alphabet: str = DEFAULT_ALPHABET, seed: int = 0) -> Path:
    """Write a tiny model and tokenizer to ``path`` (a directory any ``from_pretrained`` loads)."""
    path = Path(path)
    model, tok = tiny_model_and_tokenizer(alphabet, seed)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
