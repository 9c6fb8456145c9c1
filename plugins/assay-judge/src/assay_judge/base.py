"""What the judge rewards share: the engine, batch dedupe, async scoring, pickling, closing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import assay

from .engine import Answer, JudgeEngine, Request


def conversation_text(value: Any) -> str:
    """A prompt for the judge: text as is; chat messages as a role-labelled transcript."""
    if isinstance(value, list):
        parts = []
        for m in value:
            if isinstance(m, dict):
                content = m.get("content", "")
                if isinstance(content, list):
                    content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
                parts.append(f"[{m.get('role', 'user')}]\n{content}")
            else:
                parts.append(str(m))
        return "\n\n".join(parts)
    return "" if value is None else str(value)


class JudgeBase(assay.Reward):
    """A reward that asks an LLM judge: subclasses build each sample's requests and read the answers."""

    rowwise = False  # the whole batch at once: that is where the concurrency comes from

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._setup()

    def _setup(self) -> None:
        self.engine = JudgeEngine(self.options)  # type: ignore[arg-type]

    # subclasses ---------------------------------------------------------------------------------
    def requests(self, sample: assay.Sample) -> list[Request]:
        raise NotImplementedError

    def verdict(self, sample: assay.Sample, answers: list[Answer]) -> assay.Score:
        raise NotImplementedError

    # scoring ------------------------------------------------------------------------------------
    def _plan(
        self, samples: Sequence[assay.Sample]
    ) -> tuple[list[list[Request]], list[int], list[assay.Score | None]]:
        """Requests per unique job; each sample's job index; ready scores for bad samples."""
        jobs: list[list[Request]] = []
        index: dict[tuple[str, ...], int] = {}
        which: list[int] = []
        ready: list[assay.Score | None] = []
        for s in samples:
            try:
                reqs = self.requests(s)
            except (ValueError, TypeError) as exc:
                ready.append(assay.Score.error(f"cannot build the judge request: {exc}"))
                which.append(-1)
                continue
            key = tuple(r.key() for r in reqs)  # identical samples (a GRPO group) ask once
            if key not in index:
                index[key] = len(jobs)
                jobs.append(reqs)
            which.append(index[key])
            ready.append(None)
        return jobs, which, ready

    def _finish(
        self,
        samples: Sequence[assay.Sample],
        which: list[int],
        ready: list[assay.Score | None],
        results: list[list[Answer] | str],
    ) -> list[assay.Score]:
        out: list[assay.Score] = []
        for s, j, r in zip(samples, which, ready):
            if r is not None:
                out.append(r)
                continue
            res = results[j]
            if isinstance(res, str):
                deadline = self.options.deadline  # type: ignore[attr-defined]
                out.append(assay.Score.timeout(f"judge deadline of {deadline:g} s passed"))
            else:
                out.append(self.verdict(s, res))
        return out

    def score(self, samples: Sequence[assay.Sample]) -> list[Any]:
        jobs, which, ready = self._plan(samples)
        results = self.engine.run(jobs) if jobs else []
        return self._finish(samples, which, ready, results)

    async def ascore(self, samples: Sequence[assay.Sample]) -> list[Any]:
        jobs, which, ready = self._plan(samples)
        results = await self.engine.arun(jobs) if jobs else []
        return self._finish(samples, which, ready, results)

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent by this reward in this process (retries included)."""
        return self.engine.requests_sent

    def close(self) -> None:
        self.engine.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("engine", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def reply_excerpt(self, text: str | None) -> str | None:
        keep: int = self.options.keep_reply  # type: ignore[attr-defined]
        if text is None or len(text) <= keep:
            return text
        return text[:keep] + f"... [{len(text) - keep} more characters]"
