"""Find the tags of a section layout (``<think>…</think><answer>…</answer>``) in a completion.

Shared by ``think_format`` (all-or-nothing) and ``tag_count`` (partial credit). A layout is an
ordered tuple of section names; only the layout's own tags are looked at, other markup is text.

Chat templates of reasoning models (DeepSeek-R1 distills, Qwen3 thinking) often write the opening
tag of the first section into the prompt, so the completion starts inside ``<think>``
(open-r1 #560). ``prefill`` says what to expect:

- ``"never"``: the completion must open every section itself;
- ``"always"``: the template opened the first section; the completion must not open it again;
- ``"auto"`` (default): ``"always"`` when the prompt text visibly ends with the opening tag,
  otherwise the opening tag of the first section is optional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Prefill = Literal["auto", "always", "never"]

_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")


@dataclass(frozen=True)
class Tag:
    """One occurrence of a layout tag: ``<name>`` (``close`` False) or ``</name>``."""

    name: str
    close: bool
    start: int
    end: int

    def __str__(self) -> str:
        return f"</{self.name}>" if self.close else f"<{self.name}>"


@dataclass(frozen=True)
class Layout:
    """An ordered tuple of section names and the regex that finds their tags."""

    sections: tuple[str, ...]
    pattern: re.Pattern[str]

    def find(self, text: str) -> list[Tag]:
        return [
            Tag(m.group(2), bool(m.group(1)), m.start(), m.end())
            for m in self.pattern.finditer(text)
        ]


@lru_cache(maxsize=64)
def layout(sections: tuple[str, ...]) -> Layout:
    """The `Layout` of these section names; raises ValueError on a bad or repeated name."""
    if not sections:
        raise ValueError("a tag layout needs at least one section name")
    for name in sections:
        if not _NAME.match(name):
            raise ValueError(f"bad section name {name!r}: use letters, digits, '_', '-' or '.'")
    if len(set(sections)) != len(sections):
        raise ValueError(f"section names repeat in {list(sections)}")
    names = "|".join(re.escape(s) for s in sorted(sections, key=len, reverse=True))
    return Layout(sections, re.compile(rf"<(/?)({names})>"))


def prompt_prefills(prompt_text: str, first: str) -> bool:
    """True when the (templated) prompt ends by opening the first section, e.g. ``…<think>\\n``."""
    return prompt_text.rstrip().endswith(f"<{first}>")


def resolve_prefill(prefill: Prefill, prompt_text: str, first: str) -> bool | None:
    """True: the first opening tag was prefilled; False: it must be in the completion; None: either."""
    if prefill == "always":
        return True
    if prefill == "never":
        return False
    return True if prompt_prefills(prompt_text, first) else None


def last_section(text: str, tag: str) -> str | None:
    """The body of the last ``<tag>…</tag>`` (as the last match of ``re.findall`` with
    ``<tag>(.*?)</tag>`` finds it), or None; linear time even on thousands of unclosed openers,
    where the regex rescans the rest of the text from every one of them."""
    opener, closer = f"<{tag}>", f"</{tag}>"
    found: str | None = None
    pos = 0
    while True:
        i = text.find(opener, pos)
        if i < 0:
            return found
        j = text.find(closer, i + len(opener))
        if j < 0:  # no closer after this opener, so none after any later one either
            return found
        found, pos = text[i + len(opener) : j], j + len(closer)
