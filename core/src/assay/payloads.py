"""What trainers really send, turned into `Sample` fields: responses with end-of-turn tokens
attached, queries that contain the prompt, labels and ground truths that are JSON strings.

- `strip_end_tokens`: ``...</answer><|im_end|>`` -> ``...</answer>``. OpenRLHF decodes the
  sequence with its special tokens and verl's default reward manager decodes without skipping
  them, so the end-of-turn token (and pad tokens after it) reach the reward. Only tokens at the
  end (and whitespace between them) are removed.
- `split_query`: the response part of an OpenRLHF query (prompt + response, left padding too).
- `label_fields`: a label (OpenRLHF) or ground truth (verl) as ``answer`` / ``tests`` /
  ``metadata``. A plain answer stays the answer; a JSON object (or its JSON string) with
  ``answer``/``tests``/``metadata`` is taken apart; Assay's test forms (``{"type": ...}``) and
  the APPS/TACO shape (``{"inputs": [...], "outputs": [...], "fn_name"?}``, how PRIME/Eurus-style
  parquet datasets carry code tests) become ``tests``.

Everything here is linear in its input (no regular expressions), since it runs outside any
worker deadline on text the policy wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

#: End-of-turn, end-of-text and pad tokens of the common chat templates (ChatML/Qwen, Llama 2
#: and 3, Phi-3, Gemma, Mistral, DeepSeek, gpt-oss).
DEFAULT_END_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "</s>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "<eos>",
    "<｜end▁of▁sentence｜>",  # noqa: RUF001 - DeepSeek's token is spelt with these characters
    "<|return|>",
    "<pad>",
    "[PAD]",
    "<|pad|>",
    "<|finetune_right_pad_id|>",
)

#: Where the assistant turn starts in common chat templates: a query whose prompt cannot be
#: found is split after the last of these.
ASSISTANT_MARKERS: tuple[str, ...] = (
    "<|im_start|>assistant\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|assistant|>\n",
    "<start_of_turn>model\n",
    "<｜Assistant｜>",  # noqa: RUF001 - DeepSeek's marker
    "[/INST]",
)

TEST_TYPES = frozenset({"asserts", "check", "stdio", "call"})
LABEL_KEYS = frozenset({"answer", "tests", "metadata"})


def end_tokens_of(tokenizer: Any) -> tuple[str, ...]:
    """A tokenizer's special tokens (eos, pad, ...) to strip, plus the defaults."""
    found: list[str] = []
    for attr in ("eos_token", "pad_token"):
        tok = getattr(tokenizer, attr, None)
        if isinstance(tok, str) and tok:
            found.append(tok)
    specials = getattr(tokenizer, "all_special_tokens", None) or []
    found += [t for t in specials if isinstance(t, str) and t]
    return tuple(dict.fromkeys([*found, *DEFAULT_END_TOKENS]))


def resolve_end_tokens(
    end_tokens: Iterable[str] | None = None, tokenizer: Any = None
) -> tuple[str, ...]:
    """What an adapter strips: ``end_tokens`` (default: the common chat templates'), with the
    tokenizer's special tokens first when one is given."""
    tokens = tuple(end_tokens) if end_tokens is not None else DEFAULT_END_TOKENS
    if tokenizer is None:
        return tokens
    return tuple(dict.fromkeys([*end_tokens_of(tokenizer), *tokens]))


def _tokens(tokens: Iterable[str]) -> tuple[str, ...]:
    return tokens if type(tokens) is tuple and "" not in tokens else tuple(t for t in tokens if t)


def strip_end_tokens(text: str, tokens: Iterable[str] = DEFAULT_END_TOKENS) -> str:
    """``text`` without the end tokens (and the whitespace around them) at its end.

    >>> strip_end_tokens("<answer>4</answer><|im_end|>\n<|endoftext|><|endoftext|>")
    '<answer>4</answer>'

    Whitespace at the end is kept when no token follows it."""
    toks = _tokens(tokens)
    end = len(text)
    removed = False
    while True:
        cut = end
        while cut and text[cut - 1].isspace():
            cut -= 1
        if not toks or not text.endswith(toks, 0, cut):  # one C-level check for all tokens
            return text[:cut] if removed else text[:end]
        for t in toks:
            if text.endswith(t, 0, cut):
                end, removed = cut - len(t), True
                break


def strip_leading_tokens(text: str, tokens: Iterable[str] = DEFAULT_END_TOKENS) -> str:
    """``text`` without pad/end tokens at its start (left padding decoded with the query)."""
    toks = _tokens(tokens)
    start = 0
    while toks and text.startswith(toks, start):
        for t in toks:
            if text.startswith(t, start):
                start += len(t)
                break
    return text[start:] if start else text


def split_query(
    query: str, prompt: str | None, tokens: Sequence[str] = DEFAULT_END_TOKENS
) -> tuple[str, str]:
    """(how it was split, response) of an OpenRLHF query: the text after the prompt, else after
    the last assistant marker of a known chat template, else the whole query; end tokens removed.

    The first way is ``prompt``, the second ``marker``, the last ``whole``."""
    tokens = _tokens(tokens)
    body = strip_leading_tokens(query, tokens)
    if prompt:
        bare = strip_leading_tokens(prompt, tokens)
        for p in (prompt, bare) if bare != prompt else (prompt,):
            i = body.find(p) if p else -1
            if i >= 0:
                return "prompt", strip_end_tokens(body[i + len(p) :], tokens)
    best = -1
    best_len = 0
    for m in ASSISTANT_MARKERS:
        i = body.rfind(m)
        if i > best:
            best, best_len = i, len(m)
    if best >= 0:
        return "marker", strip_end_tokens(body[best + best_len :], tokens)
    return "whole", strip_end_tokens(body, tokens)


MAX_DEPTH = 64  # nesting followed when converting values; deeper parts are left as they are


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` with numpy/torch arrays and scalars as Python lists and numbers, at any depth
    up to `MAX_DEPTH` (verl's parquet rows carry lists as numpy arrays)."""
    if hasattr(value, "tolist") and type(value).__module__.split(".")[0] in ("numpy", "torch"):
        value = value.tolist()
    if _depth >= MAX_DEPTH:
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, _depth + 1) for k, v in value.items()}
    return value


def _lines(x: Any, _depth: int = 0) -> str:
    if isinstance(x, str):
        return x
    if _depth >= MAX_DEPTH:
        return ""
    if isinstance(x, list):
        return "\n".join(_lines(v, _depth + 1) for v in x)
    if isinstance(x, (dict, bool)) or x is None:
        try:
            return json.dumps(x)
        except (ValueError, TypeError, RecursionError):
            return ""
    return str(x)


def apps_tests(obj: dict[str, Any]) -> dict[str, Any]:
    """An APPS/TACO test object as an Assay test form.

    With ``fn_name``: a ``call`` test per (inputs[i], outputs[i]); the inputs are the arguments,
    and an output wrapped in a one-element list (the APPS/TACO convention) is unwrapped. Without:
    ``stdio``, a list of lines joined with newlines. Anything else is returned as it came, so the
    code reward reports it ``unverifiable`` with the reason."""
    inputs, outputs = obj.get("inputs"), obj.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        return obj
    fn = obj.get("fn_name")
    if isinstance(fn, str) and fn:
        cases = [
            {
                "args": i if isinstance(i, list) else [i],
                "expected": o[0] if isinstance(o, list) and len(o) == 1 else o,
            }
            for i, o in zip(inputs, outputs)
        ]
        return {"type": "call", "fn_name": fn, "cases": cases}
    cases = [{"input": _lines(i), "output": _lines(o)} for i, o in zip(inputs, outputs)]
    return {"type": "stdio", "cases": cases}


def decode_json_object(value: Any) -> Any:
    """A JSON object spelt as a string, decoded; anything else unchanged (``"42"`` stays a
    string: only text that starts with ``{`` and parses to an object is decoded)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("{") and s.endswith("}"):
            try:
                obj = json.loads(s)
            except (ValueError, RecursionError):
                return value
            if isinstance(obj, dict):
                return obj
    return value


def as_tests(value: Any) -> Any:
    """Tests in any accepted spelling (an Assay form, APPS/TACO, or either as JSON text)."""
    value = decode_json_object(plain(value))
    if isinstance(value, dict) and "type" not in value and "inputs" in value:
        return apps_tests(value)
    return value


def label_fields(label: Any) -> dict[str, Any]:
    """``answer`` / ``tests`` / ``metadata`` fields from a label or ground truth (see module)."""
    original = plain(label)
    value = decode_json_object(original)
    if not isinstance(value, dict):
        return {"answer": original}
    kind = value.get("type")
    if isinstance(kind, str) and kind in TEST_TYPES:
        return {"tests": value}
    if "inputs" in value and "outputs" in value:
        return {"tests": apps_tests(value)}
    if LABEL_KEYS & set(value):
        fields: dict[str, Any] = {}
        if "answer" in value:
            fields["answer"] = value["answer"]
        if value.get("tests") is not None:
            fields["tests"] = as_tests(value["tests"])
        meta = value.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        for k, v in value.items():  # other keys travel as metadata (difficulty, source, ...)
            if k not in LABEL_KEYS:
                meta.setdefault(str(k), v)
        if meta:
            fields["metadata"] = meta
        return fields
    return {"answer": original}


def merge_metadata(fields: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add ``extra`` to ``fields["metadata"]`` without replacing what is there (a ``task`` the
    user set in the label wins over one in ``extra_info``)."""
    meta = fields.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    for k, v in extra.items():
        meta.setdefault(str(k), v)
    fields["metadata"] = meta
