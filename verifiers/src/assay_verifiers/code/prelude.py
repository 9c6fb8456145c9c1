"""The import prelude LeetCode / LiveCodeBench solutions assume (``prelude=True``).

Their prompts start from a class stub that uses ``List``, ``Optional``, ``defaultdict``,
``heapq``... without importing them, and from ``ListNode`` / ``TreeNode`` definitions left in a
comment. With the prelude these names exist before the candidate's code runs; for the ``asserts``
and ``check`` forms it runs on both sides (the candidate's process and the trusted test runner),
so ``ListNode`` / ``TreeNode`` values cross between them as values.
"""

from __future__ import annotations

PRELUDE = """\
import bisect, collections, functools, heapq, itertools, math, operator, random, re, string, sys
from bisect import bisect_left, bisect_right, insort
from collections import Counter, OrderedDict, defaultdict, deque
from functools import cache, lru_cache, reduce
from heapq import heapify, heappop, heappush, heappushpop, heapreplace, nlargest, nsmallest
from itertools import accumulate, combinations, count, permutations, product
from math import ceil, comb, floor, gcd, inf, isqrt, log, log2, sqrt
from typing import Deque, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, Union


class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next


class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right
"""
