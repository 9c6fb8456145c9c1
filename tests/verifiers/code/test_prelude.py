"""The LeetCode / LiveCodeBench import prelude and null stdin (issue 13, item 5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay import Sample
from assay_verifiers.code.reward import CodeReward

LEETCODE = (
    "class Solution:\n"
    "    def topK(self, nums: List[int], k: int) -> List[int]:\n"
    "        return [x for x, _ in Counter(nums).most_common(k)]\n"
    "    def reverse(self, head: Optional[ListNode]) -> Optional[ListNode]:\n"
    "        prev = None\n"
    "        while head:\n"
    "            head.next, prev, head = prev, head, head.next\n"
    "        return prev\n"
)
TO_LIST = (
    "def build(xs):\n"
    "    head = None\n"
    "    for x in reversed(xs):\n"
    "        head = ListNode(x, head)\n"
    "    return head\n"
    "def items(node):\n"
    "    out = []\n"
    "    while node:\n"
    "        out.append(node.val)\n"
    "        node = node.next\n"
    "    return out\n"
)


@pytest.fixture(scope="module")
def with_prelude() -> Iterator[CodeReward]:
    reward = CodeReward(prelude=True, case_timeout=2.0, total_timeout=6.0, workers=1)
    yield reward
    reward.close()


def test_prelude_names_exist_and_helper_classes_cross(with_prelude: CodeReward) -> None:
    asserts = {
        "type": "asserts",
        "setup": TO_LIST,
        "asserts": [
            "assert Solution().topK([1, 1, 2, 3, 3, 3], 2) == [3, 1]",
            "assert items(Solution().reverse(build([1, 2, 3]))) == [3, 2, 1]",
        ],
    }
    call = {"type": "call", "fn_name": "Solution.topK",
            "cases": [{"args": [[4, 4, 5], 1], "expected": [4]}]}  # fmt: skip
    scores = with_prelude.score(
        [Sample(completion=LEETCODE, tests=asserts), Sample(completion=LEETCODE, tests=call)]
    )
    assert [(s.value, s.status) for s in scores] == [(1.0, "ok"), (1.0, "ok")], scores


def test_without_the_prelude_the_names_are_missing(code_reward: CodeReward) -> None:
    call = {"type": "call", "fn_name": "Solution.topK",
            "cases": [{"args": [[4, 4, 5], 1], "expected": [4]}]}  # fmt: skip
    [s] = code_reward.score([Sample(completion=LEETCODE, tests=call)])
    assert s.value == 0.0 and "NameError" in s.reason, s


def test_null_stdin_reads_as_empty(code_reward: CodeReward) -> None:
    tests = {"type": "stdio", "cases": [{"input": None, "output": "empty\n"}]}
    prog = "import sys\nprint('empty' if sys.stdin.read() == '' else 'not')\n"
    [s] = code_reward.score([Sample(completion=prog, tests=tests)])
    assert (s.value, s.status) == (1.0, "ok"), s
