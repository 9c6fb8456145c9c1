"""Answer phrases: "the (final) answer is", "Answer:", a line ``A: x``, "# Answer", ``答案是``,
``所以选``..., found by a literal keyword scan and bounded patterns (no backtracking), and the
value the sentence after them states (`reduce_phrase`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .boxes import Stated, boxed_contents, distinct
from .conditional import condition
from .number_words import words_value
from .remarks import ASIDE, doubted, drop_working
from .spans import math_spans, strip_money

# Answer markers: a literal keyword is found first (a fast scan), then the marker is matched
# at that keyword only (bounded quantifiers: no backtracking over long runs of spaces). The
# text is lowered ASCII-only, so positions do not move.
_KEYWORD = re.compile(
    "answer|correct|right|actually|wait|oops|instead|should|alternatively|\u7b54|\u9009"
)
_AT_KEYWORD = re.compile(
    r"answer(?:[ \t]{1,3}(?:is|was|would be|should be|will be)\b"
    r"|[ \t]{1,3}(?=(?:can't|cannot|can not|isn't|must not)(?:[ \t]{1,3}be)?[ \t]{1,3}[-$\\\d])"
    r"|s?\*{0,2}[ \t]{0,3}[:\uff1a=]|s?\*{0,2}[ \t]{0,3}(?=\n))"
    r"|(?:correct|right)[ \t]{1,3}(?:option|choice)[ \t]{1,3}(?:is\b|:)"
    r"|(?:correct|right)[ \t]{1,3}(?:count|total|value|number|result|sum|amount|product|"
    r"difference|quotient|remainder|area|perimeter|volume|length|distance|price|cost|"
    r"probability|ratio|solution|calculation|figure)[ \t]{1,3}(?:is|was)\b"
    r"|should[ \t]be(?=[ \t]{1,3}(?:-?\d|\$|\\))"
    r"|alternatively,?[ \t]{0,3}(?:it|the[ \t]answer)[ \t]{1,3}(?:(?:could|might|may|can)[ \t]{1,3}"
    r"(?:also[ \t]{1,3})?be|is)\b"
    r"|(?:actually|correction|wait|oops|instead)[,:]?[ \t]{0,3}(?:no[,.]?[ \t]{0,3})?"
    r"(?:it(?:'s|[ \t]is|[ \t]should[ \t]be)|the[ \t](?:correct|right)[ \t](?:answer|value)[ \t]is)\b"
    r"|\u7b54\u6848[ \t]{0,3}(?:\u5e94\u8be5|\u5e94|\u5c31)?(?:\u662f|\u4e3a|\u70ba|[:\uff1a])"
    r"|\u7b54\u6848(?=[ \t]{0,3}(?:\u4e0d\u662f|\u4e0d\u4e3a|\u5e76\u975e))"  # 答案不是 12
    r"|(?:(?<=\u6545)|(?<=\u6240\u4ee5)|(?<=\u56e0\u6b64)|(?<=\u5e94)|(?<=\u5219))\u9009"
    r"(?:\u62e9|\u9879)?[ \t]{0,3}[:\uff1a]?"
    r"|\u7b54\u3048[ \t]{0,3}(?:\u306f|[:\uff1a])"  # Japanese 答えは
    r"|\u7b54[ \t]{0,3}[:\uff1a]"  # a line "答:" (line start checked in code)
    r"|\u7b54\u6848\u3011"  # a gaokao solution's 【答案】
)
_A_LINE = re.compile(r"^[ \t]{0,3}A(?:ns)?[ \t]{0,3}[:\uff1a]", re.M)  # a line "A: 18"
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
        if m.group() == "should" and not low.endswith("it ", 0, m.start()):
            continue  # only "it should be 11" (a revision), not "x should be positive"
        if m.group() in (
            "actually",
            "wait",
            "oops",
            "instead",
            "correct",
            "right",
            "alternatively",
        ) and (m.start() and low[m.start() - 1].isalnum()):
            continue
        mk = _AT_KEYWORD.match(low, m.start())
        if mk is None:
            continue
        if (
            low[m.start()] == "\u7b54"
            and mk.group()[1:2] not in ("\u6848", "\u3048")  # 答案, Japanese 答え
            and not _line_start(text, m.start())
        ):
            continue
        ends.append(mk.end())
        if len(ends) >= wanted:
            break
    ends += [m.end() for m in _A_LINE.finditer(text)]
    return sorted(set(ends))[-wanted:]


NUMBER = re.compile(  # thousands by commas, or by thin or no-break spaces ("1 234 567")
    r"[-\u2212\uff0d]?\d{1,60}(?:[,\u202f\u00a0\u2009]\d{3}(?!\d)){0,20}(?:\.\d{1,60})?(?:[eE][+-]?\d{1,4}\b)?(?:\s?/\s?\d{1,30})?%?"
    r"|-?\.\d{1,60}"
)
WORDY = re.compile(r"[a-zA-Z]{4,}|(?:^|(?<=[\s,.;:!?]))[a-zA-Z]{2,}(?=$|[\s,.;:!?])")
MATH_WORDS = re.compile(r"\\[a-zA-Z]+|\b(?:sqrt|sin|cos|tan|log|ln|exp|pi|or|and)\b")
# What ends the body of an answer phrase: a connective that starts an explanation.
_CONNECTIVE = re.compile(
    r"(?:,|\s)\s{0,3}(?:because|since|which|where|as (?:we|it|this|shown|computed)|"
    r"given|so that|when|if|after|using|by|for (?:the|all|each)|with|I hope)\b"
    r"|,\s{0,3}not\b|\s{1,3}not\s{1,3}(?=-?\d)"
    r"|,\s{0,3}and\s{1,3}(?=[a-zA-Z]{2,})"
    r"|[\uff0c,]?\s{0,3}(?:因为|由于|所以)",
    re.I,
)
_VERB = re.compile(r"\s(?:is|are|was|were|equals|be|gives|yields)\s", re.I)
_FILLER = re.compile(
    r"^(?:(?:is|are|was|then|so|thus|therefore|hence|just|only|exactly|about|around|actually|"
    r"really|in fact|indeed|the (?:number|value|integer|result|total)(?=\s{1,3}[-\d$\\])|"
    r"approximately|roughly|:|=|\uff1a|\*+)\s{0,3})+",
    re.I,
)
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
# A Chinese verb that introduces the value ("x 的值为 5", "结果是 -3"): the value follows the last.
_CJK_VERB = re.compile("\u662f|\u4e3a|\u70ba|\u7b49\u4e8e|\u7b49\u65bc")


# Words that make an operation of a number ("half of 12", "twice 5"): never read as the number.
_OPERATOR_WORDS = re.compile(
    r"\b(?:half|twice|double|triple|quarter|third|times|plus|minus|over|divided|squared|cubed|"
    r"root|percent|less|more|than|of|per)\b",
    re.I,
)
_OR = re.compile(r"\bor\b|\u6216|\u4e5f\u53ef\u80fd", re.I)  # or, 或, 也可能
_YES_NO = re.compile(r"^(yes|no|true|false)\s{0,3}[,;:\u2014-]", re.I)
_RESTATED = re.compile(r"(?:,\s{0,3}|\s)(?:i\.e\.|that is,|namely)\s{0,3}", re.I)


def _body(text: str, start: int) -> str:
    """The sentence after an answer marker: leading space and up to two line breaks skipped,
    then up to the end of the sentence (a period or line break outside braces and math; money
    dollars, as in "is $18.", do not open math)."""
    i, n = start, min(len(text), start + 400)
    while i < n and text[i] in " \t*:\uff1a\n}" and text.count("\n", start, i + 1) <= 2:
        i += 1  # a "}" closes the \text{} the marker stood in: \boxed{\text{The answer is } 18}
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
            if depth == 0 and not inside[j]:
                break  # the end of the box the phrase stands in
            depth -= 1
        elif not inside[j] and (
            (c == "\n" and j > 0)
            or (
                c in ".!?\u3002\uff01\uff1f"
                and depth == 0
                and (j + 1 >= len(seg) or seg[j + 1] in " \n\t")
                and seg[max(0, j - 3) : j + 1] not in ("i.e.", "e.g.")
            )
        ):
            break
        j += 1
    return seg[:j].strip()


# An answer phrase that rejects a value ("the answer is not 5", "can't be 5"), and what it then
# states instead ("not 12, it is 15", "不是 5，而是 6").
_REJECTS = re.compile(
    r"^(?:is[ \t]{1,3}|was[ \t]{1,3})?(?:not|n't|can't|cannot|can[ \t]not|isn't|won't)"
    r"(?:[ \t]{1,3}be)?[ \t]{1,3}(?=-?\d|\$|\\|\(?[A-J]\b)"
    r"|^(?:\u4e0d\u662f|\u4e0d\u4e3a|\u5e76\u975e)[ \t]{0,3}(?=\S)",  # 不是, 不为, 并非
    re.I,
)
_INSTEAD = re.compile(
    r"(?:[,;\uff0c\uff1b][ \t]{0,3}(?:but[ \t]{1,3})?|[ \t]but[ \t]{1,3})"
    r"(?:it(?:'s|[ \t]is|[ \t]must[ \t]be|[ \t]should[ \t]be)|rather|instead|actually)[ \t]{1,3}"
    r"|[\uff0c,][ \t]{0,3}\u800c\u662f",
    re.I,
)


_INSTEAD_NEXT = re.compile(
    r"[ \t.!?,;]{0,4}(?:it(?:'s|[ \t]is|[ \t]must[ \t]be|[ \t]should[ \t]be)|the[ \t](?:correct[ \t])?"
    r"answer[ \t]is|instead,?[ \t]it[ \t]is|rather,?[ \t]it[ \t]is)[ \t]{1,3}(?=\S)",
    re.I,
)


def _after_body(text: str, start: int, body: str) -> int:
    """Where the sentence `_body` read from ``start`` ends in ``text``."""
    k = text.find(body, start, start + 420 + len(body)) if body else -1
    return k + len(body) if k >= 0 else start


def rejection(body: str) -> str | None:
    """For a phrase body that rejects a value: what it states instead ("" for nothing)."""
    if not _REJECTS.match(body):
        return None
    m = _INSTEAD.search(body)
    return body[m.end() :] if m else ""


def reduce_phrase(body: str) -> tuple[str, ...]:
    """The value an answer phrase states: ``$36$`` -> 36, "The largest $n$ is 34" -> 34,
    ``$18.50`` -> 18.50, "12 because ..." -> 12. Empty when it states nothing."""
    body = body.strip().strip("*").strip()
    if not body:
        return ()
    if "\\boxed" in body or "\\fbox" in body:
        boxes = distinct(boxed_contents(body))
        if boxes:
            return boxes
    parts = labelled_parts(body)
    if parts:
        return (", ".join(parts),)  # "(a) 12, (b) 11" -> 12, 11
    word = _YES_NO.match(body)
    if word:
        return (word.group(1),)  # "yes, 12 is divisible by 3" answers yes
    body = ASIDE.sub(" ", body)  # "4 (we reject $x = -1$ since ...)", "5 (not 6)"
    if "$" not in body and "\\" not in body:
        body = drop_working(body)  # "14 apples in total (7 red + 7 green)"
    restated = _RESTATED.search(body)
    again = body[restated.end() :].strip() if restated else ""
    a_value = bool(re.search(r"\d|\\|\$", again)) or words_value(again.rstrip(". ")) is not None
    if restated and again and a_value:
        body = body[restated.end() :]  # "1/2 of the pizza, i.e. 4 slices" -> 4 slices
    elif restated:
        body = body[: restated.start()]  # "12 hours, i.e. half a day": the words restate 12
    m = _CONNECTIVE.search(body)
    if m and m.start() > 0:
        body = body[: m.start()]
    if _CJK.search(body):
        verbs = list(_CJK_VERB.finditer(body))
        if verbs and body[verbs[-1].end() :].strip(" \t\u3002\uff0e."):
            body = body[verbs[-1].end() :].strip()
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
    if words_value(t) is not None:
        return (t,)  # "one hundred and five", "one and a half"
    prose = WORDY.findall(MATH_WORDS.sub(" ", t))
    cjk = _CJK.search(t)
    if len(prose) >= 3 or cjk:
        numbers = NUMBER.findall(t)
        if len(numbers) == 1:
            return (numbers[0],)  # "一共有 42 个苹果" -> 42
        if len(numbers) >= 2 and _OR.search(t):
            return distinct(numbers[-6:])  # "12 (if ...) or 11 (otherwise)": a hedge
        if len(prose) >= 3 or not re.search(r"\d|[A-J]", t):
            return ()
    if len(prose) == 2 and not _OPERATOR_WORDS.search(t) and not re.search(r"[=^\\]", t):
        numbers = NUMBER.findall(t)
        if len(numbers) == 1:
            return (numbers[0],)  # "She earned 500" -> 500
    return (t,)


# A part label of a multi-part answer: "(a)", "b)", "(ii)"; parts are read only when the labels
# run in order from the first ("(a) 12, (b) 11"), so a lone "(c)" stays a choice letter.
_PART = re.compile(r"(?:^|(?<=[\s,;]))\(?([a-h]|i{1,3}|iv|v|vi|[1-8])\)[ \t]{0,3}")
_ORDERS = ("abcdefgh", ("i", "ii", "iii", "iv", "v", "vi"), "12345678")
_FULLWIDTH = str.maketrans("\uff08\uff09\uff1b\uff0c", "();,")


def labelled_parts(body: str) -> list[str]:
    """The values of a labelled multi-part answer, "(a) 12, (b) 11" -> [12, 11]; else []."""
    body = body[:400].translate(_FULLWIDTH)
    labels = list(_PART.finditer(body))
    if len(labels) < 2 or labels[0].start() != 0:
        return []
    names = tuple(m.group(1) for m in labels)
    if not any(names == tuple(order[: len(names)]) for order in _ORDERS):
        return []
    values = []
    for m, nxt in zip(labels, [*labels[1:], None]):
        value = body[m.end() : nxt.start() if nxt else len(body)].strip(" \t,;.")
        got = reduce_phrase(value) if value else ()
        if len(got) != 1:
            return []
        values.append(got[0])
    return values


def _only_glue(body: str, spans: Sequence[object]) -> bool:
    """Nothing but commas, 'and', 'or', units or punctuation between and around the spans."""
    rest = body
    for s in reversed(spans):
        rest = rest[: s.start] + " " + rest[s.end :]  # type: ignore[attr-defined]
    return len(WORDY.findall(rest.replace("and", " ").replace("or", " "))) <= 1


def phrases(text: str) -> list[Stated]:
    """The last answer phrase that states something (and, when that one is conditional, the
    one before it too: see `conditional`); when the last phrase rejects or doubts a value, it
    and the last one before it that states something (`extract._final` decides which counts)."""
    weak: Stated | None = None
    later: list[Stated] = []
    empty: list[Stated] = []  # the last rejection or doubt, when it is the last phrase
    for end in reversed(_marker_ends(text)):  # the last ones that state something
        body = _body(text, end)
        doubt = doubted(text, end)
        instead = "" if doubt else rejection(body)
        if instead == "" and (empty or later):
            continue  # only the last rejection counts; the answer before it is looked for
        if instead == "":
            # "the answer is not 5" states no answer, unless the next sentence says what it is
            # ("The answer cannot be 12 because ... It is 7.")
            after = _after_body(text, end, body)
            nxt = _INSTEAD_NEXT.match(text, after, after + 40)
            got = reduce_phrase(_body(text, nxt.end())) if nxt else ()
            if got and nxt:
                return [Stated(nxt.end(), got, "answer_is")]
            named = reduce_phrase(_REJECTS.sub("", body, count=1))
            empty = [Stated(end, (), "answer_is", rejects=named, doubt=doubt)]
            continue
        got = reduce_phrase(instead if instead is not None else body)
        if not got:
            continue
        if len(got) == 1 and _JUST_WORDS.match(got[0]):
            # "the answer is consistent": a description counts only when nothing else is stated
            weak = weak or Stated(end, got, "answer_is", weak=True)
            continue
        if not later and not empty and condition(text, end):
            later = [Stated(end, got, "answer_is")]
            continue
        return [Stated(end, got, "answer_is"), *later, *empty]
    return [*later, *empty] or ([weak] if weak else [])


# A numbered list of candidate answers ("Answer 1: 7 / Answer 2: 8"): one statement, a hedge.
_NUMBERED = re.compile(
    r"^[ \t]{0,3}\**(?:answer|candidate|guess|attempt)[ \t]{1,3}#?\d{1,2}\**[ \t]{0,3}[:\uff1a]",
    re.I | re.M,
)


def numbered_answers(text: str) -> list[Stated]:
    """Two or more numbered answers, as one statement with all their values."""
    found = list(_NUMBERED.finditer(text))
    if len(found) < 2:
        return []
    values = [v for m in found[-10:] for v in reduce_phrase(_body(text, m.end()))]
    return [Stated(found[-1].end(), distinct(values), "answer_is")] if values else []
