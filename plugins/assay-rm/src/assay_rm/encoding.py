"""Turn a sample (text or chat) into the token ids a reward model reads.

The ids match what TRL's ``RewardTrainer`` trains on, so a model scores the same inputs it
learned from:

- text prompt and completion: ``tokenizer(prompt + completion + eos)`` (the tokenizer adds its
  own special tokens, e.g. BOS);
- chat (prompt or completion given as messages): ``apply_chat_template(prompt_messages +
  completion_messages)``; a text side becomes one ``user`` (prompt) or ``assistant``
  (completion) message.

Long inputs are cut from the left (the end of the completion, where a sequence classifier reads
its score, is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay import AssayError
from assay.models import Sample


class EncodingError(AssayError, ValueError):
    """A sample cannot be turned into model input (malformed chat messages, no chat template)."""


def _content_text(content: Any, i: int) -> str:
    """A message's content as text: None -> "" (e.g. an assistant turn with only tool calls);
    a list of parts -> its text parts joined (a text reward model reads no images)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = part.get("text", "")
                texts.append(text if isinstance(text, str) else "")
            else:
                raise EncodingError(
                    f"chat message {i} has a content part of type {type(part).__name__}"
                )
        return "".join(texts)
    raise EncodingError(f"chat message {i} has content of type {type(content).__name__}")


def _messages(value: Any, role: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": role, "content": value}] if value else []
    if not isinstance(value, list):
        raise EncodingError(f"expected text or a list of chat messages, got {type(value).__name__}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise EncodingError(f"chat message {i} needs 'role' and 'content' keys, got {m!r:.80}")
        if not isinstance(m["role"], str):
            raise EncodingError(f"chat message {i} has a role of type {type(m['role']).__name__}")
        out.append({**m, "content": _content_text(m["content"], i)})  # a copy: input untouched
    return out


def is_chat(sample: Sample) -> bool:
    return isinstance(sample.prompt, list) or isinstance(sample.completion, list)


def encode_sample(
    tokenizer: Any, sample: Sample, *, chat: bool | None = None, add_eos: bool = True
) -> list[int]:
    """Token ids of one sample (see module docstring). Raises `EncodingError` on bad input."""
    use_chat = is_chat(sample) if chat is None else chat
    if not use_chat:
        ids = _encode_text(tokenizer, plain_text(tokenizer, sample, add_eos))
        if isinstance(ids, EncodingError):
            raise ids
        return ids
    return _chat_ids(tokenizer, sample)


def encode_samples(
    tokenizer: Any, samples: Sequence[Sample], *, chat: bool | None = None, add_eos: bool = True
) -> list[list[int] | EncodingError]:
    """`encode_sample` for a batch; the text samples go through the tokenizer in one call
    (a fast tokenizer encodes a list in parallel, in Rust). Errors are returned, not raised."""
    out: list[list[int] | EncodingError] = [EncodingError("not encoded")] * len(samples)
    texts: list[str] = []
    where: list[int] = []
    for i, s in enumerate(samples):
        try:
            if is_chat(s) if chat is None else chat:
                out[i] = _chat_ids(tokenizer, s)
            else:
                texts.append(plain_text(tokenizer, s, add_eos))
                where.append(i)
        except EncodingError as exc:
            out[i] = exc
    if texts:
        try:
            batch = tokenizer(text=texts)["input_ids"]
        except Exception:  # noqa: BLE001 - one bad text (e.g. a lone surrogate) fails the whole call
            batch = [_encode_text(tokenizer, t) for t in texts]
        for i, ids in zip(where, batch, strict=True):
            out[i] = ids if isinstance(ids, EncodingError) else list(ids)
    return out


def _encode_text(tokenizer: Any, text: str) -> list[int] | EncodingError:
    try:
        return list(tokenizer(text=text)["input_ids"])
    except Exception as exc:  # noqa: BLE001 - the tokenizer rejects this text; the rest of the batch goes on
        return EncodingError(f"the tokenizer cannot encode this text: {type(exc).__name__}: {exc}")


def plain_text(tokenizer: Any, sample: Sample, add_eos: bool) -> str:
    """``prompt + completion (+ eos)`` of a text sample."""
    parts = []
    for field in ("prompt", "completion"):
        value = getattr(sample, field)
        if value is not None and not isinstance(value, str):
            raise EncodingError(f"{field} must be text when chat=False")
        parts.append(value or "")
    text = "".join(parts)
    eos = getattr(tokenizer, "eos_token", None)
    if add_eos and eos and not text.endswith(eos):
        text += eos
    return text


def _chat_ids(tokenizer: Any, sample: Sample) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise EncodingError(
            "chat messages given but the tokenizer has no chat template; set one "
            "(tokenizer.chat_template = ...) or pass text"
        )
    messages = _messages(sample.prompt, "user") + _messages(sample.completion, "assistant")
    if not messages:
        raise EncodingError("empty conversation")
    try:
        ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    except Exception as exc:  # a template that rejects these messages (jinja errors, ...)
        raise EncodingError(f"the chat template failed: {type(exc).__name__}: {exc}") from exc
    return list(ids)


def truncate_left(ids: list[int], max_length: int | None, keep_first: int | None) -> list[int]:
    """Keep the last ``max_length`` ids (and the first id when it is ``keep_first``, e.g. BOS)."""
    if max_length is None or len(ids) <= max_length:
        return ids
    if keep_first is not None and ids and ids[0] == keep_first and max_length > 1:
        return [ids[0], *ids[len(ids) - max_length + 1 :]]
    return ids[len(ids) - max_length :]


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int | None
) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so padding stays small.

    A batch holds at most ``batch_size`` rows and, when ``max_tokens`` is set, at most that many
    padded tokens (a single longer row still gets its own batch).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = (
            lengths[cur[0]] if cur else lengths[i]
        )  # longest first: the first row sets the width
        too_many = len(cur) >= batch_size
        too_wide = max_tokens is not None and cur and width * (len(cur) + 1) > max_tokens
        if cur and (too_many or too_wide):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches
