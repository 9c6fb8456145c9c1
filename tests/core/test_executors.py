"""`assay.executors.plan_chunks`: chunks cover every sample once, in input order, and never cut
a group; property-tested on generated batches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assay import Sample
from assay.executors import join_splits, merge_chunks, plan_chunks
from assay.results import _Batch


def samples(prompts: list[int], tasks: list[int]) -> list[Sample]:
    return [
        Sample(prompt=f"p{p}", completion=str(i), metadata={"task": t})
        for i, (p, t) in enumerate(zip(prompts, tasks))
    ]


def test_join_splits() -> None:
    assert join_splits(["row", "row"]) == ()
    assert join_splits(["row", "prompt", "prompt"]) == ("prompt",)
    assert join_splits(["prompt", "batch"]) is None
    assert join_splits([("prompt",), "metadata.task"]) == ("prompt", "metadata.task")


def test_row_split_is_contiguous_and_sized() -> None:
    s = samples([0] * 10, [0] * 10)
    assert plan_chunks(s, (), parts=2, size=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert plan_chunks(s, None, parts=2, size=4) == [list(range(10))]
    assert plan_chunks([], (), parts=2) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=60),
    st.integers(1, 8),
    st.sampled_from([(), ("prompt",), ("prompt", "metadata.task"), None]),
)
def test_chunks_cover_once_and_keep_groups(rows: list[tuple[int, int]], size: int, split) -> None:
    s = samples([p for p, _ in rows], [t for _, t in rows])
    chunks = plan_chunks(s, split, parts=2, size=size)
    flat = [i for c in chunks for i in c]
    assert sorted(flat) == list(range(len(s)))
    assert all(c == sorted(c) for c in chunks)
    where = {i: k for k, c in enumerate(chunks) for i in c}
    for key in split or ():
        for i in range(len(s)):
            for j in range(len(s)):
                a = s[i].prompt if key == "prompt" else s[i].metadata["task"]
                b = s[j].prompt if key == "prompt" else s[j].metadata["task"]
                if a == b:
                    assert where[i] == where[j]
    if split is None:
        assert len(chunks) == 1
    # merging the chunk results puts them back in input order
    parts = [_Batch([float(i) for i in c], None, None, {"x": list(c)}) for c in chunks]
    merged = merge_chunks(parts, chunks)
    assert merged.rewards == [float(i) for i in range(len(s))]
    assert merged.components["x"] == list(range(len(s)))


def test_planning_is_linear_time_on_one_huge_group() -> None:
    s = samples([1] * 20000, [0] * 20000)
    assert plan_chunks(s, ("prompt",), parts=2, size=10) == [list(range(20000))]
