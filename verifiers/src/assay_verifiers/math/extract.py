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
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from .spans import drop_calculator_notes, math_spans, strip_money

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
    # its parts in separate sentences: the reward may take the last k for a k-part gold)
    boxes: tuple[str, ...] = ()

    @property
    def answer(self) -> str | None:
        return self.candidates[-1] if self.candidates else None


@dataclass(frozen=True)
class _Stated:
    start: int
    candidates: tuple[str, ...]
    method: str
    weak: bool = False  # a word-only answer phrase: loses to any other statement


_BOX = re.compile(r"\\(?:boxed|fbox|framebox)\s{0,5}")
_TOKEN_ARG = re.compile(r"[^\s$.,]{1,100}")  # "\\boxed 5"
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_HASH = re.compile(r"####[ \t]{0,20}([^\n]{1,300})")
# Answer markers: a literal keyword is found first (a fast scan), then the marker is matched
# at that keyword only (bounded quantifiers: no backtracking over long runs of spaces). The
# text is lowered ASCII-only, so positions do not move.
_KEYWORD = re.compile("answer|correct|right|actually|wait|oops|instead|\u7b54|\u9009")
_AT_KEYWORD = re.compile(
    r"answer(?:[ \t]{1,3}(?:is|was|would be|should be|will be)\b"
    r"|\*{0,2}[ \t]{0,3}[:\uff1a=]|\*{0,2}[ \t]{0,3}(?=\n))"
    r"|(?:correct|right)[ \t]{1,3}(?:option|choice)[ \t]{1,3}(?:is\b|:)"
    r"|(?:actually|correction|wait|oops|instead)[,:]?[ \t]{0,3}(?:no[,.]?[ \t]{0,3})?"
    r"(?:it(?:'s|[ \t]is|[ \t]should[ \t]be)|the[ \t](?:correct|right)[ \t](?:answer|value)[ \t]is)\b"
    r"|\u7b54\u6848[ \t]{0,3}(?:\u5e94\u8be5|\u5e94|\u5c31)?(?:\u662f|\u4e3a|\u70ba|[:\uff1a])"
    r"|(?:(?<=\u6545)|(?<=\u6240\u4ee5)|(?<=\u56e0\u6b64)|(?<=\u5e94)|(?<=\u5219))\u9009"
    r"(?:\u62e9|\u9879)?[ \t]{0,3}[:\uff1a]?"
    r"|\u7b54[ \t]{0,3}[:\uff1a]"  # a line "答:" (line start checked in code)
)
_A_LINE = re.compile(r"^[ \t]{0,3}A(?:ns)?[ \t]{0,3}[:\uff1a]", re.M)  # a line "A: 18"
# A few-shot model that goes on to write the next item: "Problem:", "Question:", "Q:" on a line.
_NEXT_ITEM = re.compile(r"\n[ \t]{0,3}(?:Problem|Question|Q)[ \t]{0,3}[:\uff1a]")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _line_start(text: str, pos: int) -> bool:
    """Only spaces (at most three) between the line's start and ``pos``."""
    k = text.rfind("\n", max(0, pos - 4), pos)
    head = text[k + 1 : pos] if k >= 0 else text[max(0, pos - 4) : pos]
    return len(head) <= 3 and not head.strip() and (k >= 0 or pos <= 3)


def _marker_ends(text: str, wanted: int = 8) -> list[int]:
    """Where the last ``wanted`` answer markers end, in order of position."""
    low = text.translate(_LOWER)
    ends: list[int] = []
    for m in reversed(list(_KEYWORD.finditer(low))):
        if m.group() in ("actually", "wait", "oops", "instead", "correct", "right") and (
            m.start() and low[m.start() - 1].isalnum()
        ):
            continue
        mk = _AT_KEYWORD.match(low, m.start())
        if mk is None:
            continue
        if (
            low[m.start()] == "\u7b54"
            and mk.group()[1:2] != "\u6848"
            and not _line_start(text, m.start())
        ):
            continue
        ends.append(mk.end())
        if len(ends) >= wanted:
            break
    ends += [m.end() for m in _A_LINE.finditer(text)]
    return sorted(set(ends))[-wanted:]


_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_NUMBER = re.compile(
    r"-?\d{1,60}(?:,\d{3}){0,20}(?:\.\d{1,60})?(?:[eE][+-]?\d{1,4}\b)?(?:\s?/\s?\d{1,30})?%?"
    r"|-?\.\d{1,60}"
)
_WORDY = re.compile(r"[a-zA-Z]{4,}|(?:^|(?<=[\s,.;:!?]))[a-zA-Z]{2,}(?=$|[\s,.;:!?])")
_MATH_WORDS = re.compile(r"\\[a-zA-Z]+|\b(?:sqrt|sin|cos|tan|log|ln|exp|pi|or|and)\b")
# What ends the body of an answer phrase: a connective that starts an explanation.
_CONNECTIVE = re.compile(
    r"(?:,|\s)\s{0,3}(?:because|since|which|where|as (?:we|it|this|shown|computed)|"
    r"given|so that|when|if|after|using|by|for (?:the|all|each)|with|I hope)\b"
    r"|[\uff0c,]?\s{0,3}(?:因为|由于|所以)",
    re.I,
)
_VERB = re.compile(r"\s(?:is|are|was|were|equals|be|gives|yields)\s", re.I)
_FILLER = re.compile(
    r"^(?:(?:is|are|was|then|so|thus|therefore|hence|just|only|exactly|about|around|"
    r"approximately|roughly|:|=|\uff1a|\*+)\s{0,3})+",
    re.I,
)
_STOP = re.compile(r"[.!?\u3002\uff01\uff1f](?=\s|$)|\n")
_NEGATED = re.compile(r"^(?:not|incorrect|wrong|correct|below|above|as follows|unknown)\b", re.I)
# Words that describe an answer rather than state one ("the answer is consistent").
_JUST_WORDS = re.compile(
    r"^(?:(?:very|quite|also|indeed|clearly|now|then)\s)?(?:consistent|correct|reasonable|valid|"
    r"verified|confirmed|right|plausible|clear|obvious|indeed|the same|same|independent|"
    r"as expected|unchanged|well[- ]defined|unique|sensible|fine|ok|okay|accurate|wrong|"
    r"incorrect|not|unclear|undefined|different|checked|good|reasonable)\b[\w ,'-]{0,60}$",
    re.I,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


# ------------------------------------------------------------------------ boxes
def _brace_partners(text: str) -> dict[int, int]:
    """Index of the closing brace of every balanced ``{`` (``\\{`` and ``\\}`` are not braces)."""
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i, c in enumerate(text):
        if c not in "{}" or (i and text[i - 1] == "\\"):
            continue
        if c == "{":
            stack.append(i)
        elif stack:
            partner[stack.pop()] = i
    return partner


def boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every ``\\boxed{...}`` / ``\\fbox{...}``, nested boxes unwrapped.

    The braces are paired in one pass and a nested box is found by bisection, so thousands of
    nested or unclosed boxes cost linear time.
    """
    found = [m.span() for m in _BOX.finditer(text)]
    if not found:
        return []
    starts = [a for a, _ in found]
    boxes = [b for _, b in found]
    partner = _brace_partners(text)

    def argument(k: int, limit: int) -> tuple[int, int] | None:
        i = boxes[k]
        if i < limit and text[i] == "{":
            close = partner.get(i)
            return (i + 1, close) if close is not None and close < limit else None
        tok = _TOKEN_ARG.match(text, i, limit)
        return tok.span() if tok else None

    out: list[tuple[int, int, str]] = []
    covered = -1
    for k in range(len(boxes)):
        if starts[k] < covered:
            continue  # inside a box already taken
        span = argument(k, len(text))
        if span is None:
            continue
        outer_end = span[1] + (1 if span[1] < len(text) and text[span[1]] == "}" else 0)
        while True:  # the last box inside the argument, down to the innermost one
            a, b = span
            for j in range(bisect_left(starts, b) - 1, bisect_left(starts, a) - 1, -1):
                inner = argument(j, b)
                if inner is not None:
                    span = inner
                    break
            else:
                break
        covered = outer_end
        out.append((starts[k], outer_end, text[span[0] : span[1]].strip()))
    return out


def boxed_contents(text: str) -> list[str]:
    """Contents of every box in order (see `boxed_spans`)."""
    return [c for _, _, c in boxed_spans(text)]


def _box_groups(text: str) -> list[_Stated]:
    """Boxes in one sentence form one statement (``\\boxed{2} and \\boxed{3}``)."""
    groups: list[_Stated] = []
    run: list[str] = []
    run_start = prev_end = -1
    for a, b, content in boxed_spans(text):
        gap = text[prev_end:a] if prev_end >= 0 else ""
        if run and (len(gap) > 80 or _STOP.search(gap.replace("$", " ")) or "\n\n" in gap):
            groups.append(_Stated(run_start, _distinct(run), "boxed"))
            run = []
        if not run:
            run_start = a
        run.append(content)
        prev_end = b
    if run:
        groups.append(_Stated(run_start, _distinct(run), "boxed"))
    return groups


def _distinct(items: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for it in items:
        it = it.strip()
        if it:
            seen.setdefault(it, None)
    return tuple(seen)


# ------------------------------------------------------------------------ answer phrases
def _body(text: str, start: int) -> str:
    """The sentence after an answer marker: leading space and up to two line breaks skipped,
    then up to the end of the sentence (a period or line break outside braces and math; money
    dollars, as in "is $18.", do not open math)."""
    i, n = start, min(len(text), start + 400)
    while i < n and text[i] in " \t*:\uff1a\n" and text.count("\n", start, i + 1) <= 2:
        i += 1
    seg = text[i:n]
    inside = bytearray(len(seg))
    for sp in math_spans(seg):
        inside[sp.start : sp.end] = b"\x01" * (sp.end - sp.start)
    depth = 0
    j = 0
    while j < len(seg):
        c = seg[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif not inside[j] and (
            (c == "\n" and j > 0)
            or (
                c in ".!?\u3002\uff01\uff1f"
                and depth == 0
                and (j + 1 >= len(seg) or seg[j + 1] in " \n\t")
            )
        ):
            break
        j += 1
    return seg[:j].strip()


def reduce_phrase(body: str) -> tuple[str, ...]:
    """The value an answer phrase states: ``$36$`` -> 36, "The largest $n$ is 34" -> 34,
    ``$18.50`` -> 18.50, "12 because ..." -> 12. Empty when it states nothing."""
    body = body.strip().strip("*").strip()
    if not body:
        return ()
    if "\\boxed" in body or "\\fbox" in body:
        boxes = _distinct(boxed_contents(body))
        if boxes:
            return boxes
    m = _CONNECTIVE.search(body)
    if m and m.start() > 0:
        body = body[: m.start()]
    spans = math_spans(body)
    if spans and _only_glue(body, spans):
        return (", ".join(s.content for s in spans),)
    t = strip_money(body).strip()
    verbs = list(_VERB.finditer(t))
    if verbs:
        t = t[verbs[-1].end() :]
    t = _FILLER.sub("", t.strip()).strip().rstrip(".\u3002").strip()
    if not t or _NEGATED.match(t):
        return ()
    prose = _WORDY.findall(_MATH_WORDS.sub(" ", t))
    if len(prose) >= 3 or (_CJK.search(t) and not re.search(r"\d|[A-J]", t)):
        numbers = _NUMBER.findall(t)
        return (numbers[0],) if len(numbers) == 1 else ()
    return (t,)


def _only_glue(body: str, spans: Sequence[object]) -> bool:
    """Nothing but commas, 'and', 'or', units or punctuation between and around the spans."""
    rest = body
    for s in reversed(spans):
        rest = rest[: s.start] + " " + rest[s.end :]  # type: ignore[attr-defined]
    return len(_WORDY.findall(rest.replace("and", " ").replace("or", " "))) <= 1


def _phrases(text: str) -> list[_Stated]:
    weak: _Stated | None = None
    for end in reversed(_marker_ends(text)):  # the last ones that state something
        got = reduce_phrase(_body(text, end))
        if not got:
            continue
        if len(got) == 1 and _JUST_WORDS.match(got[0]):
            # "the answer is consistent": a description counts only when nothing else is stated
            weak = weak or _Stated(end, got, "answer_is", weak=True)
            continue
        return [_Stated(end, got, "answer_is")]
    return [weak] if weak else []


def _hashes(text: str) -> list[_Stated]:
    last = None
    for last in _HASH.finditer(text):  # noqa: B007 - the last one is wanted
        pass
    if last is None:
        return []
    got = reduce_phrase(last.group(1))
    return [_Stated(last.start(), got, "hash")] if got else []


# ------------------------------------------------------------------------ fallbacks
def _bold(text: str) -> tuple[int, str] | None:
    last = None
    for m in _BOLD.finditer(text):
        inner = m.group(1).strip()
        if re.search(r"[\d\\=]", inner) or re.fullmatch(r"\(?[A-J]\)?", inner):
            last = (m.start(), inner)
    if last is None:
        return None
    got = reduce_phrase(last[1])
    return (last[0], got[-1]) if got else None


def _bare(text: str) -> str | None:
    s = text.strip()
    if not s or len(s) > 120 or "\n" in s or "\\boxed" in s:
        return None
    if _WORDY.search(_MATH_WORDS.sub(" ", s)):
        return None
    return s.rstrip(".")


_GLUE = re.compile(r"\s{0,3}(?:,|;|and|or|&|\\quad)?\s{0,3}(?:and|or)?\s{0,3}")


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


def _last_number(text: str) -> str | None:
    last = None
    for m in _NUMBER.finditer(strip_money(text)):
        last = m.group(0)
    return last


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

    Only the last ``max_chars`` characters are searched: answers come at the end, and this keeps
    a 200,000-character completion cheap.
    """
    unknown = set(methods) - METHODS
    if unknown:
        raise ValueError(
            f"unknown extraction method(s) {sorted(unknown)}; known: {sorted(METHODS)}"
        )
    text = completion[-max_chars:] if len(completion) > max_chars else completion
    text = drop_calculator_notes(text)
    nxt = _NEXT_ITEM.search(text)
    if nxt:  # a few-shot model that went on to a new "Problem:" right after stating its answer
        got = _final(_stated(text[: nxt.start()], methods))
        if got is not None and nxt.start() - got[1] <= _CONTINUATION_GAP:
            return got[0]
    got = _final(_stated(text, methods))
    return got[0] if got is not None else _fallback(text, methods)


_CONTINUATION_GAP = 300  # characters between the stated answer and the next "Problem:" line


def _final(stated: list[_Stated]) -> tuple[Extraction, int] | None:
    """The last statement (a word-only phrase only when nothing else is stated), and where."""
    strong = [s for s in stated if not s.weak] or stated
    if not strong:
        return None
    last = max(strong, key=lambda s: s.start)
    boxes = tuple(
        v for g in stated if g.method == "boxed" and g.start <= last.start for v in g.candidates
    )
    ex = Extraction(last.candidates, last.method, boxes if last.method == "boxed" else ())
    return ex, last.start


def _stated(text: str, methods: Sequence[str]) -> list[_Stated]:
    """Every stated answer of the text (boxes grouped by sentence, the last tag, hash, phrase)."""
    stated: list[_Stated] = []
    if "answer_tag" in methods:
        tags = list(_ANSWER_TAG.finditer(text))
        if tags:
            inner = tags[-1].group(1).strip()
            sub = extract_answer(inner, [m for m in methods if m in STATED and m != "answer_tag"])
            if sub.candidates:
                stated.append(_Stated(tags[-1].end(), sub.candidates, f"answer_tag+{sub.method}"))
            elif inner:
                stated.append(_Stated(tags[-1].end(), (inner,), "answer_tag"))
    if "boxed" in methods:
        stated += _box_groups(text)
    if "hash" in methods:
        stated += _hashes(text)
    if "answer_is" in methods:
        stated += _phrases(text)
    return stated


def _fallback(text: str, methods: Sequence[str]) -> Extraction:
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
        if lm:
            late.append((lm[0], lm[1], "last_math"))
    if late:
        _, value, method = max(late)
        return Extraction((value,), method)
    if "last_number" in methods:
        got = _last_number(text)
        if got:
            return Extraction((got,), "last_number")
    return Extraction((), "")
