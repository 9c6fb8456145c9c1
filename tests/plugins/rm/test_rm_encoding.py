"""Encoding samples for a reward model: text, chat, malformed input, truncation, batching."""

from __future__ import annotations

from typing import Any

import pytest

from assay import Sample
from assay_rm.encoding import EncodingError, encode_sample, length_batches, truncate_left

CHAT_P = [{"role": "user", "content": "hi"}]
CHAT_C = [{"role": "assistant", "content": "yo"}]


@pytest.mark.parametrize(
    ("prompt", "completion", "chat", "expected_text"),
    [
        ("ab", "cd", None, "<bos>abcd<eos>"),
        ("", "cd", None, "<bos>cd<eos>"),
        ("ab", "cd<eos>", None, "<bos>abcd<eos>"),  # EOS not doubled
        (CHAT_P, "yo", None, "<user>hi\n<assistant>yo\n"),  # text completion -> assistant turn
        (CHAT_P, CHAT_C, None, "<user>hi\n<assistant>yo\n"),
        ("hi", "yo", True, "<user>hi\n<assistant>yo\n"),  # forced chat
    ],
)
def test_encode_matches_training_layout(
    tok: Any, prompt: Any, completion: Any, chat: bool | None, expected_text: str
) -> None:
    ids = encode_sample(tok, Sample(prompt=prompt, completion=completion), chat=chat)
    assert tok.decode(ids) == expected_text


@pytest.mark.parametrize(
    ("prompt", "completion", "chat", "needle"),
    [
        ([{"role": "user"}], "x", None, "'role' and 'content'"),
        ([{"content": "x"}], "x", None, "'role' and 'content'"),
        ([{"role": "user", "content": 3}], "x", None, "content of type int"),
        (CHAT_P, "x", False, "must be text"),
    ],
)
def test_malformed_chat_raises_encoding_error(
    tok: Any, prompt: Any, completion: Any, chat: bool | None, needle: str
) -> None:
    with pytest.raises(EncodingError, match=needle):
        encode_sample(tok, Sample(prompt=prompt, completion=completion), chat=chat)


def test_chat_without_template_is_an_error() -> None:
    from assay_rm.tiny import char_tokenizer

    plain = char_tokenizer(chat_template=None)
    with pytest.raises(EncodingError, match="no chat template"):
        encode_sample(plain, Sample(prompt=CHAT_P, completion="x"))


@pytest.mark.parametrize(
    ("ids", "max_length", "keep", "expected"),
    [
        ([1, 2, 3, 4, 5], None, 1, [1, 2, 3, 4, 5]),
        ([1, 2, 3, 4, 5], 5, 1, [1, 2, 3, 4, 5]),
        ([1, 2, 3, 4, 5], 3, 1, [1, 4, 5]),  # BOS kept, the end kept
        ([1, 2, 3, 4, 5], 3, None, [3, 4, 5]),
        ([7, 2, 3, 4, 5], 3, 1, [3, 4, 5]),  # first id is not BOS: plain left cut
    ],
)
def test_truncate_left(
    ids: list[int], max_length: int | None, keep: int | None, expected: list[int]
) -> None:
    assert truncate_left(ids, max_length, keep) == expected


@pytest.mark.parametrize(
    ("lengths", "batch_size", "max_tokens"),
    [
        ([5, 1, 9, 3, 3, 7, 2], 3, None),
        ([5, 1, 9, 3, 3, 7, 2], 1, None),
        ([5, 1, 9, 3, 3, 7, 2], 16, 12),
        ([100, 1, 1, 1], 4, 10),  # one row wider than max_tokens still gets a batch
        ([], 4, None),
    ],
)
def test_length_batches_cover_every_row_once_within_limits(
    lengths: list[int], batch_size: int, max_tokens: int | None
) -> None:
    batches = length_batches(lengths, batch_size, max_tokens)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    widths = [max(lengths[i] for i in b) for b in batches]
    assert widths == sorted(widths, reverse=True)  # longest first
    for b in batches:
        assert len(b) <= batch_size
        if max_tokens is not None and len(b) > 1:
            assert max(lengths[i] for i in b) * len(b) <= max_tokens


def test_batch_encoding_equals_one_by_one(tok: Any) -> None:
    from assay_rm.encoding import encode_samples

    samples = [
        Sample(prompt="ab", completion="cd"),
        Sample(prompt=CHAT_P, completion="yo"),
        Sample(prompt=[{"role": "user"}], completion="x"),  # malformed: its error is returned
        Sample(prompt="", completion="é ü"),  # out-of-alphabet characters -> <unk>
        Sample(prompt="q", completion=CHAT_C),
    ]
    batch = encode_samples(tok, samples)
    for s, got in zip(samples, batch, strict=True):
        expected: Any
        try:
            expected = encode_sample(tok, s)
        except EncodingError as exc:
            expected = exc
        if isinstance(expected, EncodingError):
            assert isinstance(got, EncodingError) and str(got) == str(expected)
        else:
            assert got == expected
    assert isinstance(batch[2], EncodingError)
    assert tok.unk_token_id in batch[3]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("completion", "expected_text"),
    [
        ([{"role": "assistant", "content": None}], "<user>hi\n<assistant>\n"),  # tool-call turn
        (
            [{"role": "assistant", "content": [{"type": "text", "text": "y"}, "o"]}],
            "<user>hi\n<assistant>yo\n",
        ),  # content parts: their text, as core's text_of reads them
    ],
)
def test_chat_content_none_or_parts_is_encoded_as_text(
    tok: Any, completion: Any, expected_text: str
) -> None:
    ids = encode_sample(tok, Sample(prompt=CHAT_P, completion=completion))
    assert tok.decode(ids) == expected_text
    assert completion[0]["content"] is None or isinstance(completion[0]["content"], list)


def test_a_failing_chat_template_or_tokenizer_is_an_error_for_that_sample_only() -> None:
    from assay_rm.encoding import encode_samples
    from assay_rm.tiny import char_tokenizer

    broken = char_tokenizer(chat_template="{{ messages[0]['content'] + 1 }}")  # jinja TypeError
    samples = [
        Sample(prompt=CHAT_P, completion="x"),
        Sample(prompt="a", completion="b\ud800c"),  # a lone surrogate: the Rust tokenizer refuses
        Sample(prompt="a", completion="b"),
    ]
    out = encode_samples(broken, samples)
    assert isinstance(out[0], EncodingError) and "chat template failed" in str(out[0])
    assert isinstance(out[1], EncodingError) and "cannot encode" in str(out[1])
    assert broken.decode(out[2]) == "<bos>ab<eos>"  # type: ignore[arg-type]


def test_none_prompt_or_completion_reads_as_empty_text(tok: Any) -> None:
    s = Sample.model_construct(prompt=None, completion="cd")
    assert tok.decode(encode_sample(tok, s)) == "<bos>cd<eos>"
