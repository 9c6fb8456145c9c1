"""What a model says about its answer that is not the answer (pure text, bounded patterns):
asides in parentheses that set a value aside or explain it ("5 (not 6)", "12 (approximately)"),
working in parentheses ("14 apples (7 red + 7 green)"), remarks that compare ("6 more than
yesterday"), and doubts or suppositions about the answer ("I don't think the answer is 12",
"Let's assume the answer is 12"). Used by `phrases` and `fallbacks`.
"""

from __future__ import annotations

import re

# A number compared with another ("6 more than yesterday", "twice as many as"): a remark
# about the answer, not the answer, when it stands in parentheses or a "which is" clause.
COMPARATIVE = (
    r"(?:(?:more|less|fewer|greater|smaller|larger|higher|lower|longer|shorter|older|younger|"
    r"heavier|lighter|bigger|cheaper)[ \t]{1,3}than\b|times[ \t]{1,3}(?:as|more)\b)"
)
# A parenthetical that sets a value aside or explains, never one that offers another value
# ("5 (but 6 is also possible)" stays a hedge).
ASIDE = re.compile(
    r"[ \t]?\((?:we[ \t]|I[ \t])?(?:not|reject\w*|discard\w*|exclud\w*|ignor\w*|since|because|"
    r"as[ \t]|extraneous|invalid|rounded|to[ \t]the[ \t]nearest|the[ \t]other|approx\w*|about|roughly|"
    r"exact\w*|estimated)[^()]{0,200}\)"
    r"|[ \t]?\([^()]{0,60}?\b" + COMPARATIVE + r"[^()]{0,120}\)",  # "(6 more than yesterday)"
    re.I,
)

# A marker inside a doubt or a supposition about the answer ("I don't think the answer is 12",
# "Let's assume the answer is 12", "If the answer is 12, then ..."): it states no answer.
_DOUBT = re.compile(
    r"(?:\bdoubt|\bunlikely|\bnot[ \t](?:sure|certain|convinced)|n't[ \t](?:think|believe|know)"
    r"|\bnot[ \t](?:think|believe)|\bwonder(?:ing)?[ \t](?:if|whether)|\bwhether"
    r"|\b(?:let's|let[ \t]us|we)[ \t](?:assume|suppose|say|guess|try|pretend|test|check)"
    r"|\b(?:suppose|assume)[ \t]that|\b(?:check|verify|test|see)[ \t](?:if|whether))"
    r"[^.!?\n]{0,40}$"
    r"|\bif[ \t]{1,3}(?:the[ \t]{1,3})?(?:final[ \t]{1,3})?$",
    re.I,
)


def doubted(text: str, end: int) -> bool:
    """Whether the answer marker ending at ``end`` stands in a doubt or a supposition."""
    head = text[max(0, end - 120) : end]
    for stop in (".", "!", "?", "\n"):
        head = head[head.rfind(stop) + 1 :]
    k = head.lower().rfind("answer")
    return k >= 0 and _DOUBT.search(head[:k]) is not None


# A parenthetical that works a value out ("14 apples (7 red + 7 green)"): an explanation of the
# number before it, never the answer.
_LATEX = re.compile(r"[\\{}^_$]")
_PAREN = re.compile(r"\(([^()\n]{1,120})\)")
_OPERATOR = re.compile(r"[+\u00d7\u2212*=]|\s[-/x\u00f7]\s")
_DIGIT_BEFORE = re.compile(r"\d[^\n.!?()\d]{0,40}$")


def drop_working(text: str) -> str:
    """``text`` without the parentheticals that work out the number before them."""
    if "(" not in text:
        return text
    out, last = [], 0
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        if (
            m.start() > 0
            and text[m.start() - 1] in " \t"  # "14 apples (7 + 7)", never "2(3 + 4)"
            and not _LATEX.search(inner)  # prose working, never part of an expression
            and _OPERATOR.search(inner)
            and len(re.findall(r"\d+", inner)) >= 2
            and _DIGIT_BEFORE.search(text, max(0, m.start() - 42), m.start())
        ):
            out.append(text[last : m.start()])
            last = m.end()
    return "".join(out) + text[last:] if out else text
