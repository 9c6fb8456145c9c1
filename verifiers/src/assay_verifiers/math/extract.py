"""Find the final answer of a model's completion (regex, brace matching and bounded scans).

**The final-answer rule** (docs/math.md): the answer is the *last stated answer* of the
completion. Stated answers are, wherever they stand: a ``\\boxed{}`` (or a run of boxes in one
sentence), an ``<answer>`` tag, GSM8K's ``#### x``, and answer phrases ("the (final) answer
is", "Answer:", a line ``A: x``, "# Answer" followed by the value, ``答案是`` / ``答案为`` /
``故选``...). A later statement revises an earlier one (``\\boxed{12}`` ... "so the answer is
15" answers 15). Several boxes in one sentence are one statement with several values (a
multi-part answer, or a hedge when the gold answer has one part).

Only when nothing is stated: a short completion that is itself an answer (``bare``), then the
later of the last bold value and the last math span (``bold`` / ``last_math``), then the last
number (``last_number``): see `fallbacks`.

>>> extract_answer(r"so the area is \\boxed{\\frac{1}{2}}.").candidates
('\\\\frac{1}{2}',)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .boxes import Stated, box_groups
from .conditional import resolve
from .fallbacks import SENTENCE_END, fallback, rest_of_sentence
from .normalize import normalize
from .phrases import numbered_answers, phrases, reduce_phrase
from .spans import drop_calculator_notes

STATED = ("answer_tag", "boxed", "hash", "answer_is")
FALLBACKS = ("bare", "bold", "last_math", "last_number")
DEFAULT_METHODS: tuple[str, ...] = (*STATED, *FALLBACKS)
METHODS = frozenset(DEFAULT_METHODS)


@dataclass(frozen=True)
class Extraction:
    """What the completion answers: the distinct candidates found, and by which method."""

    candidates: tuple[str, ...] = ()
    method: str = ""
    # the values of the boxes up to the final statement, in order (a multi-part answer may give
    # its parts in separate sentences: the reward may take the last k for a k-part gold); for
    # `last_number`, the list of numbers the text ends with ("the roots are 2 and 3")
    boxes: tuple[str, ...] = ()

    @property
    def answer(self) -> str | None:
        return self.candidates[-1] if self.candidates else None


_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_HASH = re.compile(r"####[ \t]{0,20}([^\n]{1,300})")
# A few-shot model that goes on to write the next item: "Problem:", "Question:", "Q:" on a line.
_NEXT_ITEM = re.compile(r"\n[ \t]{0,3}(?:Problem|Question|Q)[ \t]{0,3}[:\uff1a]")
# End-of-sequence and turn tokens: generation stops there, so what follows (a run-on into a new
# chat turn, "<|im_start|>user ...") is not the model's answer.
_END_OF_TURN = re.compile(
    r"</s>|<\|(?:endoftext|im_end|im_start|eot_id|end_of_text|start_header_id|end)\|>"
    r"|<\uff5cend\u2581of\u2581sentence\uff5c>|<end_of_turn>|<eos>"
)
_CODE_BLOCK = re.compile(  # a fence starts a run of backticks (cheap on long runs of them)
    r"(?<!`)```[ \t]{0,3}(?:python|py|python3|sympy|javascript|js|java|cpp|c|bash|sh|sage|matlab|r)"
    r"[ \t]{0,3}\n.*?(?:```|$)",
    re.S | re.I,
)
_SIGN_SPAN = re.compile(r"\$[ \t]?([-+\u2212])[ \t]?\$(?=[ \t]?\d)")  # "$-$5" is -5


def _hashes(text: str) -> list[Stated]:
    last = None
    for last in _HASH.finditer(text):  # noqa: B007 - the last one is wanted
        pass
    if last is None:
        return []
    got = reduce_phrase(last.group(1))
    return [Stated(last.start(), got, "hash")] if got else []


# ------------------------------------------------------------------------ entry points
def answer_region(completion: str, delimiter: str | None) -> str | None:
    """What follows the last ``delimiter`` (``</think>``), or None when it is missing."""
    if not delimiter:
        return completion
    k = completion.rfind(delimiter)
    return None if k < 0 else completion[k + len(delimiter) :]


def extract_answer(
    completion: str,
    methods: Sequence[str] = DEFAULT_METHODS,
    max_chars: int = 20_000,
) -> Extraction:
    """The answer candidates of a completion (see the module docstring for the rule).

    Only the last ``max_chars`` characters are searched (answers come at the end, and this keeps
    a 200,000-character completion cheap), and the first ``max_chars`` for a statement when the
    tail states nothing.
    """
    unknown = set(methods) - METHODS
    if unknown:
        raise ValueError(
            f"unknown extraction method(s) {sorted(unknown)}; known: {sorted(METHODS)}"
        )
    completion = _before_end_of_turn(completion)
    k = completion.rfind(_THINK_END)
    if k >= 0 and completion[k + len(_THINK_END) :].strip():
        # a reasoning model's answer section decides: a statement inside the thinking ("the
        # answer is 12 ... hmm, no") does not beat what follows </think> ("**15**")
        after = extract_answer(completion[k + len(_THINK_END) :], methods, max_chars)
        if after.candidates:
            return after
    if "```" in completion:  # a program states nothing; its ```output block does (ToRA)
        completion = _CODE_BLOCK.sub("\n", completion)
    text = completion[-max_chars:] if len(completion) > max_chars else completion
    text = _SIGN_SPAN.sub(r"\1", drop_calculator_notes(text))
    nxt = _NEXT_ITEM.search(text)
    if nxt:  # a few-shot model that went on to a new "Problem:" right after stating its answer
        got = _final(_stated(text[: nxt.start()], methods))
        if got is not None and nxt.start() - got[1] <= _CONTINUATION_GAP:
            return got[0]
    got = _final(_stated(text, methods))
    if got is not None:
        got = (_with_second_thoughts(got[0], text, got[1]), got[1])
    if got is None and len(completion) > max_chars:
        # nothing stated in the tail of a long completion: an answer stated in its first
        # ``max_chars`` (then a long ramble) is still a statement, and beats a fallback
        head = _SIGN_SPAN.sub(r"\1", drop_calculator_notes(completion[:max_chars]))
        got = _final(_stated(head, methods))
    return got[0] if got is not None else Extraction(*fallback(text, methods))


def _before_end_of_turn(completion: str) -> str:
    """The completion up to its first end-of-turn token that follows some text (a leading chat
    header such as ``<|im_start|>assistant`` is skipped)."""
    seen = 0
    for m in _END_OF_TURN.finditer(completion):
        if completion[seen : m.start()].strip():
            return completion[: m.start()]
        seen = m.end()
    return completion


_THINK_END = "</think>"
_CONTINUATION_GAP = 300  # characters between the stated answer and the next "Problem:" line

# A second thought right after the final statement ("The answer is 12. Or perhaps 13.", "But it
# could also be 13.", "Hmm, or maybe 13?"): the statement becomes a hedge with both values.
_SECOND_THOUGHT = re.compile(
    r"[ \t]{0,3}(?:hmm+[,.]?[ \t]{0,3}|but[ \t]{1,3}|though[ \t]{1,3}|then[ \t]again,?[ \t]{1,3})?"
    r"(?:or[ \t]{1,3}(?:perhaps|maybe|possibly)|(?:it|the[ \t]answer)[ \t]{1,3}(?:could|might|may)"
    r"[ \t]{1,3}(?:also[ \t]{1,3})?be|maybe[ \t]{1,3}(?:it'?s|it[ \t]is))[ \t,:]{1,3}",
    re.I,
)


def _with_second_thoughts(ex: Extraction, text: str, start: int) -> Extraction:
    """The final statement, joined by the value of a second thought in the next sentence."""
    end = SENTENCE_END.search(text, start, start + 600)
    if end is None or not ex.candidates:
        return ex
    nxt = (
        end.end()
        + len(text[end.end() : end.end() + 40])
        - len(text[end.end() : end.end() + 40].lstrip())
    )
    m = _SECOND_THOUGHT.match(text, nxt, nxt + 80)
    if m is None:
        return ex
    value = reduce_phrase(rest_of_sentence(text, m.end()).rstrip("?"))
    if not value:
        return ex
    return Extraction((*ex.candidates, *value), ex.method, ex.boxes)


def _final(stated: list[Stated]) -> tuple[Extraction, int] | None:
    """The last statement (a word-only phrase only when nothing else is stated), and where."""
    strong = [s for s in stated if not s.weak] or stated
    if not strong:
        return None
    last = max(strong, key=lambda s: s.start)
    if last.rejects is not None:
        # a rejection or doubt as the last word: an earlier answer it does not retract stands
        earlier = [s for s in strong if s.start < last.start and s.candidates]
        gone = {normalize(v) for v in last.rejects}
        if earlier:
            before = max(earlier, key=lambda s: s.start)
            if last.doubt or not gone & {normalize(v) for v in before.candidates}:
                last = before
    boxes = tuple(
        v for g in stated if g.method == "boxed" and g.start <= last.start for v in g.candidates
    )
    ex = Extraction(last.candidates, last.method, boxes if last.method == "boxed" else ())
    return ex, last.start


def _stated(text: str, methods: Sequence[str]) -> list[Stated]:
    """Every stated answer of the text (boxes grouped by sentence, the last tag, hash, phrase)."""
    stated: list[Stated] = []
    if "answer_tag" in methods:
        tags = list(_ANSWER_TAG.finditer(text))
        if tags:
            inner = tags[-1].group(1).strip()
            sub = extract_answer(inner, [m for m in methods if m in STATED and m != "answer_tag"])
            if sub.candidates:
                stated.append(Stated(tags[-1].end(), sub.candidates, f"answer_tag+{sub.method}"))
            elif inner:  # "<answer>The number of apples left is 7.</answer>" -> 7
                got = reduce_phrase(inner) if "\n" not in inner else ()
                stated.append(Stated(tags[-1].end(), got or (inner,), "answer_tag"))
    if "boxed" in methods:
        stated += box_groups(text)
    if "hash" in methods:
        stated += _hashes(text)
    if "answer_is" in methods:
        stated += phrases(text) + numbered_answers(text)
    return resolve(text, stated)
