"""Tiny models and a character tokenizer built in code, for tests, benchmarks and examples.

No Hugging Face Hub access: the tokenizer maps each character of a fixed alphabet to one id
(plus ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` and the process-reward step tag), and the models
are Llama-style with a few thousand to a few hundred thousand parameters, so they train on a CPU
in seconds.

>>> tok = char_tokenizer()
>>> tok.decode(tok("ab").input_ids, skip_special_tokens=True)
'ab'
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        LlamaForSequenceClassification,
        LlamaForTokenClassification,
        PreTrainedTokenizerBase,
    )

ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n"
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
STEP_TAG = "<step>"
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<' + m['role'] + '>' + m['content'] + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}"
)


def char_tokenizer(alphabet: str = ALPHABET, chat_template: str | None = CHAT_TEMPLATE) -> Any:
    """A fast tokenizer with one token per character of ``alphabet`` (unknown chars -> ``<unk>``).

    Adds ``<bos>`` in front of every encoded text, pads with ``<pad>`` and ends with ``<eos>``,
    so it behaves like a real LLM tokenizer for TRL's trainers, and has a chat template.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in (*SPECIAL_TOKENS, STEP_TAG, *dict.fromkeys(alphabet)):
        vocab.setdefault(tok, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=[STEP_TAG],
        padding_side="right",
        model_max_length=1024,
    )
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def tiny_config(
    tokenizer: PreTrainedTokenizerBase,
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 4,
    num_labels: int = 1,
    max_positions: int = 512,
    **overrides: Any,
) -> LlamaConfig:
    """A Llama configuration sized for CPU tests, wired to ``tokenizer``'s special ids."""
    from transformers import LlamaConfig

    kwargs: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        num_labels=num_labels,
        tie_word_embeddings=False,
    )
    kwargs.update(overrides)
    return LlamaConfig(**kwargs)


def _seeded(seed: int | None) -> None:
    if seed is not None:
        import torch

        torch.manual_seed(seed)


def tiny_reward_model(
    tokenizer: PreTrainedTokenizerBase | None = None, *, seed: int | None = 0, **config: Any
) -> LlamaForSequenceClassification:
    """A randomly initialised Llama sequence classifier with one output (a reward model)."""
    from transformers import LlamaForSequenceClassification

    _seeded(seed)
    cfg = tiny_config(tokenizer or char_tokenizer(), num_labels=1, **config)
    return LlamaForSequenceClassification(cfg).eval()


def tiny_process_model(
    tokenizer: PreTrainedTokenizerBase | None = None, *, seed: int | None = 0, **config: Any
) -> LlamaForTokenClassification:
    """A randomly initialised Llama token classifier with two labels (bad / good step)."""
    from transformers import LlamaForTokenClassification

    _seeded(seed)
    cfg = tiny_config(tokenizer or char_tokenizer(), num_labels=2, **config)
    return LlamaForTokenClassification(cfg).eval()


def tiny_policy(
    tokenizer: PreTrainedTokenizerBase | None = None, *, seed: int | None = 0, **config: Any
) -> LlamaForCausalLM:
    """A randomly initialised Llama causal LM (a policy for GRPO tests)."""
    from transformers import GenerationConfig, LlamaForCausalLM

    _seeded(seed)
    tok = tokenizer or char_tokenizer()
    model = LlamaForCausalLM(tiny_config(tok, **config))
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    return model
