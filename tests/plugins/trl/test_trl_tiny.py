"""The in-code tiny Llama and character tokenizer (no Hub)."""

from __future__ import annotations

import pytest

from assay_trl.tiny import SPECIAL_TOKENS, char_tokenizer, save_tiny, tiny_model_and_tokenizer


@pytest.mark.parametrize(
    "text",
    ["abc", "a b c", "hello world", "", "  two  spaces ", "1+2=3?"],
)
def test_tokenizer_round_trips_text(text: str) -> None:
    tok = char_tokenizer()
    ids = tok(text)["input_ids"]
    assert len(ids) == len(text)  # one token per character, no specials added
    assert tok.decode(ids) == text


def test_tokenizer_specials_and_unknown() -> None:
    tok = char_tokenizer("ab")
    assert [tok.pad_token, tok.bos_token, tok.eos_token, tok.unk_token] == list(SPECIAL_TOKENS)
    assert len(tok) == len(SPECIAL_TOKENS) + 2
    assert tok("aZb")["input_ids"][1] == tok.unk_token_id
    assert (
        tok.decode([tok.convert_tokens_to_ids("a"), tok.eos_token_id], skip_special_tokens=True)
        == "a"
    )
    assert tok.padding_side == "left"


def test_model_matches_tokenizer_and_generates() -> None:
    model, tok = tiny_model_and_tokenizer("abcd", seed=1)
    assert model.config.vocab_size == len(tok)
    assert model.config.eos_token_id == tok.eos_token_id
    enc = tok(["ab", "abc"], return_tensors="pt", padding=True)
    out = model.generate(**enc, max_new_tokens=5, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[0] == 2 and out.shape[1] <= enc["input_ids"].shape[1] + 5


def test_seed_makes_weights_reproducible() -> None:
    import torch

    a, _ = tiny_model_and_tokenizer(seed=3)
    b, _ = tiny_model_and_tokenizer(seed=3)
    c, _ = tiny_model_and_tokenizer(seed=4)
    wa, wb, wc = (m.lm_head.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_save_and_reload_offline(tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = save_tiny(tmp_path / "tiny", alphabet="xyz")
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert tok.decode(tok("zyx")["input_ids"]) == "zyx"
    assert model.config.vocab_size == len(tok)
