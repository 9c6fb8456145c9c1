"""Samplers: draw ``k`` completions per prompt, for DPO-style pair building and evaluation.

- ``transformers``: batched ``model.generate`` (left padding, ``num_return_sequences=k``); works
  on CPU and GPU with any causal LM, including an in-memory model being trained.
- ``vllm``: ``vllm.LLM(...).generate`` with ``SamplingParams(n=k)``; registered only when vLLM is
  importable (GPU machines). Chat prompts (lists of messages) go through the chat template.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.interfaces import Sampler


class GenerationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="path / Hub id (or pass an object)")
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    batch_size: int = Field(default=16, ge=1, description="prompts per generate call")
    seed: int | None = None


def _prompt_text(prompt: Any, tokenizer: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


class TransformersSampler(Sampler):
    """``k`` completions per prompt with ``transformers`` ``generate`` (sampling unless
    ``temperature == 0``, which means greedy)."""

    name = "transformers"
    Options = GenerationOptions

    def __init__(self, model: Any = None, tokenizer: Any = None, **options: Any) -> None:
        if model is not None and not isinstance(model, str):
            self.options = GenerationOptions.model_validate(options)
            self.model = model
        else:
            self.options = GenerationOptions.model_validate({"model": model, **options})
            if self.options.model is None:
                raise ValueError(
                    "transformers sampler: give `model` (a path, a Hub id or an object)"
                )
            self.model = None
        self.tokenizer = tokenizer

    def _ensure_model(self) -> None:
        if self.model is None or self.tokenizer is None:
            from .loading import load_model_and_tokenizer

            self.model, self.tokenizer = load_model_and_tokenizer(
                self.model if self.model is not None else self.options.model, self.tokenizer
            )

    def sample(self, prompts: Sequence[Any], k: int = 1, **generation: Any) -> list[list[str]]:
        import torch

        self._ensure_model()
        opts = self.options.model_copy(update=generation)
        model, tok = self.model, self.tokenizer
        if opts.seed is not None:
            torch.manual_seed(opts.seed)
        greedy = opts.temperature == 0.0
        kwargs: dict[str, Any] = {
            "max_new_tokens": opts.max_new_tokens,
            "do_sample": not greedy,
            "num_return_sequences": 1 if greedy else k,
            "pad_token_id": tok.pad_token_id,
        }
        if not greedy:
            kwargs.update(temperature=opts.temperature, top_p=opts.top_p)
        was_training = model.training
        model.eval()
        out: list[list[str]] = []
        try:
            for start in range(0, len(prompts), opts.batch_size):
                chunk = [_prompt_text(p, tok) for p in prompts[start : start + opts.batch_size]]
                enc = tok(chunk, return_tensors="pt", padding=True, padding_side="left").to(
                    model.device
                )
                with torch.no_grad():
                    ids = model.generate(**enc, **kwargs)
                texts = tok.batch_decode(
                    ids[:, enc["input_ids"].size(1) :], skip_special_tokens=True
                )
                per = 1 if greedy else k
                for i in range(len(chunk)):
                    group = texts[i * per : (i + 1) * per]
                    out.append(group * k if greedy else group)
        finally:
            model.train(was_training)
        return out


class VLLMSampler(Sampler):
    """``k`` completions per prompt with vLLM (GPU). Not exercised by the CPU test suite."""

    name = "vllm"
    Options = GenerationOptions

    def __init__(self, model: Any = None, tokenizer: Any = None, **options: Any) -> None:
        if not isinstance(model, (str, type(None))):
            raise TypeError("the vllm sampler loads its own weights: pass a model path")
        self.options = GenerationOptions.model_validate({"model": model, **options})
        if self.options.model is None:
            raise ValueError("vllm sampler: give `model` (a path or Hub id)")
        from vllm import LLM

        self.llm = LLM(model=self.options.model, seed=self.options.seed or 0)

    def sample(self, prompts: Sequence[Any], k: int = 1, **generation: Any) -> list[list[str]]:
        from vllm import SamplingParams

        opts = self.options.model_copy(update=generation)
        params = SamplingParams(
            n=k, temperature=opts.temperature, top_p=opts.top_p, max_tokens=opts.max_new_tokens
        )
        if prompts and not isinstance(prompts[0], str):
            results = self.llm.chat(list(prompts), params)
        else:
            results = self.llm.generate(list(prompts), params)
        return [[c.text for c in r.outputs] for r in results]


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def samplers() -> list[type[Sampler]]:
    """The samplers this machine can run."""
    return [TransformersSampler, VLLMSampler] if vllm_available() else [TransformersSampler]
