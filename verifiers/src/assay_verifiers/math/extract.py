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
number (``last_number``).

>>> extract_answer(r"so the area is \\boxed{\\frac{1}{2}}.").candidates
('\\\\frac{1}{2}',)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .boxes import Stated, box_groups
from .conditional import resolve
from .normalize import normalize
from .number_words import last_number_phrase
from .phrases import (
    COMPARATIVE,
    MATH_WORDS,
    NUMBER,
    WORDY,
    drop_working,
    labelled_parts,
    numbered_answers,
    phrases,
    reduce_phrase,
)
from .spans import Span, drop_calculator_notes, math_spans, strip_money
from .words import last_count_word

# Chinese characters that are words, not the "or" / "and" joining values (或, 和)
CJK_WORD = re.compile("[\u3040-\u30ff\u3400-\u548b\u548d-\u6215\u6217-\u9fff]")  # kana too
_CJK_STOP = re.compile("[\uff0c\u3002\uff1b]")  # a Chinese clause or sentence stop

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
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_CODE_BLOCK = re.compile(  # a fence starts a run of backticks (cheap on long runs of them)
    r"(?<!`)```[ \t]{0,3}(?:python|py|python3|sympy|javascript|js|java|cpp|c|bash|sh|sage|matlab|r)"
    r"[ \t]{0,3}\n.*?(?:```|$)",
    re.S | re.I,
)
_SIGN_SPAN = re.compile(r"\$[ \t]?([-+\u2212])[ \t]?\$(?=[ \t]?\d)")  # "$-$5" is -5
_LABEL = re.compile(r"^[A-Za-z][A-Za-z ]{0,30}:\s{0,3}(?=\S)")  # "**Total: 18**"
_HEADING = re.compile(r"(?:step|part|case|stage|method|approach|phase)[ \t]{0,3}\d{1,3}\b", re.I)


def _hashes(text: str) -> list[Stated]:
    last = None
    for last in _HASH.finditer(text):  # noqa: B007 - the last one is wanted
        pass
    if last is None:
        return []
    got = reduce_phrase(last.group(1))
    return [Stated(last.start(), got, "hash")] if got else []


# ------------------------------------------------------------------------ fallbacks
def _bold(text: str) -> tuple[int, str] | None:
    last = None
    for m in _BOLD.finditer(text):
        inner = m.group(1).strip()
        if _HEADING.match(inner):
            continue  # "**Step 2: Subtract the eaten ones.**" labels a step, states no value
        if re.search(r"[\d\\=]", inner) or re.fullmatch(r"\(?[A-J]\)?", inner):
            last = (m.start(), inner)
    if last is None:
        return None
    got = reduce_phrase(_LABEL.sub("", last[1]))
    return (last[0], got[-1]) if got else None


def _bare(text: str) -> str | None:
    s = text.strip()
    if not s or len(s) > 120 or "\n" in s or "\\boxed" in s:
        return None
    if WORDY.search(MATH_WORDS.sub(" ", s)) and len(s.split()) > 1:
        return None  # prose; a single word alone ("Tuesday", "No") is an answer
    parts = labelled_parts(s)
    if parts:
        return ", ".join(parts)  # "(a) 5 (b) 6"
    if len(CJK_WORD.findall(s)) >= 3 or (_CJK_STOP.search(s) and CJK_WORD.search(s)):
        return None  # a Chinese sentence ("三角形的面积是 24 平方厘米。"), not an answer itself
    return s.rstrip(".").strip("*").strip() or None  # "**15**": markdown bold


_GLUE = re.compile(
    r"\s{0,3}(?:,|;|and|or|&|\\quad|[\uff0c\u3001\uff1b\u6216\u548c\u53ca])?\s{0,3}(?:and|or)?\s{0,3}"
)  # Chinese glue: fullwidth comma, enumeration comma, semicolon, 或, 和, 及


def _sentence_values(text: str, spans: Sequence[Span]) -> tuple[str, ...]:
    """The math spans holding a digit in the sentence of the last span ("the maximum is $3$,
    the minimum is $-1$": 3, -1): the parts of a multi-part gold, when they are as many."""
    last = spans[-1]
    head = text[max(0, last.start - 300) : last.start]
    ends = list(_SENTENCE_END.finditer(head))
    begin = last.start - len(head) + (ends[-1].end() if ends else 0)
    return tuple(s.content for s in spans[-12:] if s.start >= begin and re.search(r"\d", s.content))


def _last_math(text: str) -> tuple[int, str] | None:
    """The last math span, with the values joined to it by only "and", "or" or commas
    (``$x=3$ and $x=5$`` is one answer with two values; a hedge is then judged as one)."""
    spans = math_spans(text)
    if not spans:
        return None
    run = [spans[-1]]
    for s in reversed(spans[:-1]):
        gap = text[s.end : run[0].start]
        if not _GLUE.fullmatch(gap) or not re.search(r"[\d=]", s.content + run[0].content):
            break
        run.insert(0, s)
    return run[0].start, ", ".join(s.content for s in run)


_REJECTED_BEFORE = re.compile(
    r"(?:\bnot(?: equal to| be)?|n't(?: be| equal to)?|\bcannot be|\bnever|\\neq|\u2260)[ \t]{1,3}$",
    re.I,
)
_REJECTED_AFTER = re.compile(
    r"[ \t]{0,3}(?:is|was|would[ \t]be)[ \t]{1,3}(?:wrong|incorrect|not[ \t](?:right|correct|the[ \t]answer))"
    r"|[ \t]{0,3}isn't[ \t](?:right|correct|the[ \t]answer)"
    r"|[ \t]{0,3}\?[ \t\n]{0,3}(?:no|nope)\b",  # "Could the answer be 12? No."
    re.I,
)
_COMPARED_AFTER = re.compile(
    r"[ \t]{1,3}(?:[A-Za-z]{1,15}[ \t]{1,3}){0,2}(?:" + COMPARATIVE + ")", re.I
)
_REMARK_BEFORE = re.compile(
    r"(?:\(|\bwhich[ \t](?:is|was|means)|\bthat(?:'s|[ \t]is|[ \t]was)|\bi\.e\.,?)[^()\n]{0,40}$",
    re.I,
)
_BRACE = re.compile(r"[{}]")
_SET_WORDS = re.compile(
    r"\b(?:all real numbers|every real number|no (?:real )?(?:solutions?|roots))\b", re.I
)
_CLOCK_BEFORE = re.compile(r"(?<![\d:])\d{1,2}:$")
_SCALE_AFTER = re.compile(
    r"[ \t](?:thousand|million|billion|trillion|(?:degrees?[ \t])?below[ \t]zero)\b", re.I
)
_LIST_GLUE = re.compile(r"[ \t]{0,3}(?:,|&|and|,[ \t]{0,3}and)[ \t]{0,3}")
_RANGE_AND = re.compile(r"[ \t]{1,3}and[ \t]{1,3}")
_BETWEEN = re.compile(r"\bbetween[ \t]{1,3}$", re.I)
_OR_BETWEEN = re.compile(
    r"[\s?.,;:!)]{0,6}\b(?:or|maybe|possibly|perhaps)\b[ \t]{0,3}(?:maybe[ \t]{1,3})?", re.I
)


_LONE_NAME = re.compile(r"\s{0,3}[a-zA-Z](?:_\{?\w{1,3}\}?)?\s{0,3}")
_NAMED_VALUE = re.compile(
    r"[ \t]{1,3}(?:equals|is(?:[ \t]equal[ \t]to)?|must[ \t]be|should[ \t]be|=)[ \t]{1,3}(?=\S)",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?\n\u3002](?:\s|$)")


def _span_end(text: str, start: int) -> int:
    """Where the math span opening at ``start`` ends (its closing delimiter included)."""
    for s in math_spans(text[start : start + 300]):
        return start + s.end
    return start


def _sentence(text: str, start: int) -> str:
    """The rest of the sentence from ``start`` (at most 200 characters)."""
    seg = text[start : start + 200]
    m = _SENTENCE_END.search(seg)
    return seg[: m.start()] if m else seg


def _unclosed_from(text: str) -> int:
    """Where the first brace that is never closed opens (the text's length when all close)."""
    opens: list[int] = []
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            opens.append(m.start())
        elif opens:
            opens.pop()
    return opens[0] if opens else len(text)


def _rejected(plain: str, m: re.Match[str]) -> bool:
    """Whether the text rejects the number ``m`` ("not 54", "5 is wrong", "Could it be 12? No.")
    or makes a remark of it ("42 apples, which is 6 more than before")."""
    before = plain[max(0, m.start() - 16) : m.start()]
    if _REJECTED_BEFORE.search(before) or _REJECTED_AFTER.match(plain, m.end(), m.end() + 30):
        return True
    return bool(
        _COMPARED_AFTER.match(plain, m.end(), m.end() + 60)
        and _REMARK_BEFORE.search(plain, max(0, m.start() - 60), m.start())
    )


def _last_number(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The last number the text does not reject ("45, not 54" -> 45; "5 is wrong" -> none),
    with the one before it when "or" joins them (a hedge: "Maybe 12? Or 13?", "6 or 8"); and
    the list of numbers it ends ("2 and 3" -> 2, 3: the parts of a multi-part gold)."""
    plain = strip_money(text)
    plain = plain[: _unclosed_from(plain)]  # "\\boxed{\\boxed{...{7": garbage, not an answer
    plain = drop_working(plain)  # "14 apples (7 red + 7 green)": the working is not the answer
    # Walk back from the last number: only the last two kept ones and the list the text ends
    # with matter, so the per-number checks run on a few numbers, not on all of them.
    numbers = list(NUMBER.finditer(plain))
    kept: list[re.Match[str]] = []  # the kept numbers, last first
    listed: list[str] = []  # the last list "2, 3 and 5" (a multi-part answer, when the gold is)
    open_list = True
    for m in reversed(numbers):
        if _rejected(plain, m):
            continue
        if kept and open_list:
            open_list = len(listed) < 20 and bool(
                _LIST_GLUE.fullmatch(plain, m.end(), kept[-1].start())
            )
            if open_list:
                listed.insert(0, m.group(0))
        elif not kept:
            listed = [m.group(0)]
        kept.append(m)
        if len(kept) >= 2 and not open_list:
            break
    if not kept:
        return (), ()
    kept = kept[:2][::-1]
    last = kept[-1]
    parts = tuple(listed) if len(listed) > 1 else ()
    if len(kept) == 2 and _OR_BETWEEN.fullmatch(plain, kept[0].end(), last.start()):
        return (kept[0].group(0), last.group(0)), parts
    if (
        len(kept) == 2
        and _RANGE_AND.fullmatch(plain, kept[0].end(), last.start())
        and _BETWEEN.search(plain, max(0, kept[0].start() - 12), kept[0].start())
    ):  # "between 7 and 12": a range, both ends (a hedge)
        return (kept[0].group(0), last.group(0)), parts
    scale = _SCALE_AFTER.match(plain, last.end())  # "2.5 million", "5 degrees below zero"
    clock = _CLOCK_BEFORE.search(plain, max(0, last.start() - 3), last.start())
    value = (clock.group(0) if clock else "") + last.group(0)  # "3:45 PM" is 3:45, not 45
    return (value + (scale.group(0) if scale else ""),), parts


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
    return got[0] if got is not None else _fallback(text, methods)


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
    end = _SENTENCE_END.search(text, start, start + 600)
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
    value = reduce_phrase(_sentence(text, m.end()).rstrip("?"))
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


# A closing pleasantry ("I hope this helps! Let me know if you have questions about the 3
# items.") is no part of the solution: the fallbacks read the text before it.
_SIGN_OFF = re.compile(
    r"(?:^|(?<=[\n.!?]))[ \t*]{0,3}(?:I[ \t]hope[ \t](?:this|that|it|my)|Hope[ \t](?:this|that)"
    r"|Let[ \t]me[ \t]know[ \t]if|Feel[ \t]free[ \t]to|If[ \t]you[ \t]have[ \t]any"
    r"|Good[ \t]luck|Happy[ \t](?:studying|learning)|Would[ \t]you[ \t]like|Do[ \t]you[ \t]want"
    r"|Shall[ \t]I)\b",
    re.I,
)


def _without_sign_off(text: str) -> str:
    tail = max(0, len(text) - 400)
    m = _SIGN_OFF.search(text, tail)
    return text[: m.start()] if m and text[: m.start()].strip() else text


def _fallback(text: str, methods: Sequence[str]) -> Extraction:
    text = _without_sign_off(text)
    if "bare" in methods:
        got = _bare(text)
        if got:
            return Extraction((got,), "bare")
    late: list[tuple[int, str, str]] = []
    if "bold" in methods:
        b = _bold(text)
        if b:
            late.append((b[0], b[1], "bold"))
    if "last_math" in methods:
        lm = _last_math(text)
        if lm and _LONE_NAME.fullmatch(lm[1]):
            # "Therefore $y$ equals five.": the span names the unknown, its sentence the value
            said = _NAMED_VALUE.match(text, _span_end(text, lm[0]))
            named = reduce_phrase(_sentence(text, said.end())) if said else ()
            lm = (lm[0], named[-1]) if named else lm
        if lm:
            late.append((lm[0], lm[1], "last_math"))
    if late:
        _, value, method = max(late)
        parts = _sentence_values(text, math_spans(text)) if method == "last_math" else ()
        return Extraction((value,), method, parts if len(parts) > 1 else ())
    if "last_number" in methods:
        numbers, parts = _last_number(text)
        if numbers:
            return Extraction(numbers, "last_number", parts)
        count = last_number_phrase(text) or last_count_word(text[-2000:])
        if count:  # "There are twelve eggs left."
            return Extraction((count,), "last_number")
        sets = _SET_WORDS.findall(text[-2000:])
        if sets:  # "The equation has no solution." states a set in words
            return Extraction((sets[-1],), "last_number")
    return Extraction((), "")
