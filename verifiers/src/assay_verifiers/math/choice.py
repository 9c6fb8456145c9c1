"""The letter a completion picks in a multiple-choice question.

First the final-answer rule of `extract` (``The answer is (C)``, ``\\boxed{B}``, ``答案是 B``,
``所以选 B``); when nothing is stated, the last sentence that names exactly one option and
chooses it without rejecting it: an option-by-option analysis ("(A) is wrong ... (D) is incorrect") names every
letter, and the letters of rejected options do not count.
"""

from __future__ import annotations

import re

from .normalize import choice_letter, normalize

_SENTENCE = re.compile(r"[^.!?\u3002\uff01\uff1f\n]{1,400}")
_LETTER = re.compile(
    r"[(\uff08]([A-J])[)\uff09]|(?:option|choice|选项)[ \t]{0,2}\(?([A-J])\b|\b([A-J])[ \t]{0,2}(?:选项|项)"
    r"|(?:^|[\s:\uff1a])([A-J])[ \t]{0,2}(?:[.):\uff1a]|$)|选[ \t]{0,2}([A-J])\b",
    re.I,
)
_REJECTED = re.compile(
    r"\b(?:not|incorrect|wrong|false|eliminat\w*|rule[sd]? out|cannot|isn't|doesn't|fails?|"
    r"too (?:big|small|large|low|high|many|few)|impossible|invalid)\b|错|不|排除",
    re.I,
)
_CHOSEN = re.compile(
    r"\b(?:correct|right|true|works|answer|must be|should be|is the|choose|pick|select|"
    r"therefore|thus|hence|so|go(?:ing)? with|final|my pick|only)\b|正确|选|答案|故",
    re.I,
)
_ONLY_LETTER = re.compile(r"^\s*(?:option|choice|\u9009\u9879)?\s*\(?[A-J]\)?\s*$", re.I)


_BUT = re.compile(r",?\s{1,3}but\s{1,3}", re.I)


def _clauses(sentence: str) -> list[str]:
    """A sentence, split where "but" turns to another option ("Both (A) and (C) look
    plausible, but only (C) is divisible by 7")."""
    m = _BUT.search(sentence)
    if m and _LETTER.search(sentence, m.end()):
        return [sentence[: m.start()], sentence[m.end() :]]
    return [sentence]


def letters_of(candidates: tuple[str, ...]) -> set[str | None]:
    """The letter each stated candidate names (None for one that names no single letter)."""
    return {choice_letter(c) for c in candidates}


def fallback_choice(text: str, max_chars: int = 20_000) -> str | None:
    """The letter of the last sentence that names exactly one option, chooses it ("correct",
    "must be", "so", "选"...) or is nothing but the letter, and does not reject it."""
    tail = text[-max_chars:]
    sentences = [c for s in _SENTENCE.findall(tail) for c in _clauses(s)]
    for sentence in reversed(sentences[-40:]):
        found = {
            next(g for g in m.groups() if g).upper()
            for m in _LETTER.finditer(sentence)
            if not (m.group(4) and m.group(4).islower())
        }
        chosen = _CHOSEN.search(sentence) or _ONLY_LETTER.match(sentence)
        if len(found) == 1 and chosen and not _REJECTED.search(sentence):
            return found.pop()
        if found:
            continue  # a sentence about several options, or rejecting one: keep looking back
    return _survivor(sentences[-40:])


def _survivor(sentences: list[str]) -> str | None:
    """An elimination ("(A) 21 = 3 x 7, not prime. ... (C) 29 is prime. (D) ... not prime."):
    every option is discussed in a sentence of its own, and all but one are rejected."""
    named: set[str] = set()
    rejected: set[str] = set()
    for sentence in sentences:
        found = {next(g for g in m.groups() if g).upper() for m in _LETTER.finditer(sentence)}
        if len(found) != 1:
            continue
        named |= found
        if _REJECTED.search(sentence):
            rejected |= found
    kept = named - rejected
    return kept.pop() if len(named) >= 3 and len(kept) == 1 else None


# The options a prompt lists: "(A) 21 (B) 27", "A. 21", one per line or on one line.
_OPTION = re.compile(
    r"(?:^|(?<=\s))[(\uff08]?([A-J])[)\uff09.:\uff0e][ \t]{0,3}([^\n]{1,80}?)"
    r"(?=[ \t]{1,3}[(\uff08]?[A-J][)\uff09.:\uff0e][ \t]|[ \t]*(?:\n|$))",
)


def option_named_by_value(answer: str, prompt: str) -> str | None:
    """The letter of the one option the prompt lists whose text is the answer's text
    ("The answer is 29." for "(C) 29"), compared after normalising; None when not exactly one."""
    want = normalize(answer)
    if not want:
        return None
    hits = {m.group(1) for m in _OPTION.finditer(prompt[-4000:]) if normalize(m.group(2)) == want}
    return hits.pop() if len(hits) == 1 else None


def option_text(letter: str, prompt: str) -> str | None:
    """The text of the option ``letter`` the prompt lists ("(B) 12" -> "12"), when the prompt
    lists at least two options and this one once; else None."""
    found = [(m.group(1), m.group(2)) for m in _OPTION.finditer(prompt[-4000:])]
    if len({k for k, _ in found}) < 2:
        return None
    texts = [t.strip() for k, t in found if k == letter]
    return texts[0] if len(texts) == 1 and texts[0] else None
