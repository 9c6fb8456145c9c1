"""The ``code`` reward in C, C++, Java, JavaScript, Rust and Go, special judges, IOI subtasks.

Real toolchains in the real process sandbox. Each language's test program
(`tests/data/multilang/`) does what the first word of stdin says; it is the *correct* solution of
the task "add" and a *wrong* one of the task "mul". A language whose toolchain is missing here
must come out ``unverifiable`` with the reason (never 0), so those tests check that instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay_sandbox import ToolchainMissing, find_toolchain
from assay_verifiers.code.polyglot import choose_language, extract_native
from assay_verifiers.code.reward import CodeReward

DATA = Path(__file__).resolve().parents[2] / "data" / "multilang"
SOURCES = {
    "c": ("c", "main.c"),
    "cpp": ("cpp", "main.cpp"),
    "java": ("java", "Main.java"),
    "javascript": ("javascript", "main.js"),
    "rust": ("rust", "main.rs"),
    "go": ("go", "main.go"),
}
BROKEN = {
    "c": "int main(void) { return nope; }",
    "cpp": "int main() { undefined_call(); }",
    "java": "public class Main { void f() { return 1; } }",
    "javascript": "let = = 1;",
    "rust": "fn main() { let x: u8 = (); }",
    "go": "package main\nfunc main() { undefined() }",
}
ADD = {"type": "stdio", "cases": [{"input": "add 1 2\n", "output": "3\n"},
                                  {"input": "add 20 22\n", "output": "42\n"}]}  # fmt: skip
MUL = {"type": "stdio", "cases": [{"input": "add 2 2\n", "output": "4\n"},
                                  {"input": "add 3 5\n", "output": "15\n"}]}  # fmt: skip


@pytest.fixture(scope="module")
def reward() -> Iterator[CodeReward]:
    r = CodeReward(case_timeout=2.0, total_timeout=20.0, memory_mb=256, workers=2)
    yield r
    r.close()


def fenced(lang: str, code: str) -> str:
    return f"Here is my solution.\n```{lang}\n{code}\n```\n"


def available(lang: str) -> bool:
    try:
        find_toolchain(lang)
    except ToolchainMissing:
        return False
    return True


@pytest.mark.parametrize("lang", list(SOURCES))
def test_each_language_end_to_end(reward: CodeReward, lang: str) -> None:
    tag, name = SOURCES[lang]
    source = (DATA / name).read_text()
    crash = {"type": "stdio", "cases": [{"input": "crash\n", "output": "x\n"}]}
    loop = {"type": "stdio", "cases": [{"input": "loop\n", "output": "x\n"}]}
    samples = [
        {"completion": fenced(tag, source), "tests": ADD},
        {"completion": fenced(tag, source), "tests": MUL},
        {"completion": fenced(tag, BROKEN[lang]), "tests": ADD},
        {"completion": fenced(tag, source), "tests": crash},
        {"completion": fenced(tag, source), "tests": loop},
    ]
    good, wrong, broken, runtime, slow = reward.score(samples)
    if not available(lang):  # the completion's fence chose a language this machine lacks: 0
        for s in (good, wrong, broken, runtime, slow):
            assert (s.value, s.status) == (0.0, "ok"), s
            assert "not installed" in (s.reason or "")
        return
    assert (good.value, good.status, good.details["language"]) == (1.0, "ok", lang), good
    assert (wrong.value, wrong.status) == (0.0, "ok"), wrong
    assert "wrong answer" in wrong.details["first_failure"]
    assert (broken.value, broken.status) == (0.0, "ok"), broken
    assert broken.reason.startswith("compile error"), broken
    assert broken.details["compile_error"].strip()
    assert (runtime.value, runtime.status) == (0.0, "ok"), runtime
    assert "runtime error" in runtime.details["first_failure"], runtime
    assert (slow.value, slow.status) == (0.0, "ok"), slow
    assert slow.details["case_status"] == {"timeout": 1}, slow
    # the program was compiled once for the four (distinct) jobs that share it
    sharing = (good, wrong, runtime, slow)
    assert sum(x.details["compile_cached"] is False for x in sharing) == 1
    again = reward.score([{"completion": fenced(tag, source), "tests": MUL}])[0]
    assert again.details["compile_cached"] is True


def test_language_from_the_task_beats_the_fence(reward: CodeReward) -> None:
    source = (DATA / "main.c").read_text()
    task = dict(ADD, language="c")
    [s] = reward.score([{"completion": f"```\n{source}\n```", "tests": task}])
    if not available("c"):
        assert s.status == "unverifiable"
        return
    assert (s.value, s.details["language"], s.details["extraction"]) == (1.0, "c", "untagged")
    [m] = reward.score([{"completion": source, "tests": ADD, "metadata": {"language": "C"}}])
    assert (m.value, m.details["language"]) == (1.0, "c")


def test_unknown_language_is_unverifiable(reward: CodeReward) -> None:
    [s] = reward.score([{"completion": "x", "tests": dict(ADD, language="cobol")}])
    assert s.status == "unverifiable" and s.value is None
    assert "cobol" in s.reason


def test_only_stdio_runs_in_other_languages(reward: CodeReward) -> None:
    tests = {"type": "asserts", "asserts": ["assert f() == 1"]}
    completion = "```cpp\nint f(){return 1;}\n```"
    # the task asks for C++ in a form that needs Python: the task's fault
    [s] = reward.score(
        [{"completion": completion, "tests": tests, "metadata": {"language": "cpp"}}]
    )
    assert s.status == "unverifiable" and "only stdio" in s.reason
    # a Python task answered in C++: judged as Python and failed, never excused
    [t] = reward.score([{"completion": completion, "tests": tests}])
    assert (t.value, t.status) == (0.0, "ok"), t


# -- special judge --------------------------------------------------------------------------
# Task: print two non-negative integers that sum to n; any such pair is correct.
CHECKER = r"""
#include <cstdio>
int main(int argc, char** argv) {
    if (argc < 4) return 3;
    FILE* in = fopen(argv[1], "r"); FILE* out = fopen(argv[2], "r");
    long n, a, b; char extra;
    if (!in || !out || fscanf(in, "%ld", &n) != 1) return 3;
    if (fscanf(out, "%ld %ld", &a, &b) != 2) { fprintf(stderr, "expected two integers\n"); return 2; }
    if (fscanf(out, " %c", &extra) == 1) { fprintf(stderr, "extra output\n"); return 1; }
    if (a < 0 || b < 0 || a + b != n) { fprintf(stderr, "%ld + %ld != %ld\n", a, b, n); return 1; }
    return 0;
}
"""
SPLIT = {"type": "stdio", "checker": {"language": "cpp", "source": CHECKER},
         "cases": [{"input": "4\n", "output": "2 2\n"}, {"input": "7\n", "output": "3 4\n"}]}  # fmt: skip


@pytest.mark.skipif(not available("cpp"), reason="g++ is not installed")
def test_special_judge_accepts_every_valid_output_and_rejects_wrong(reward: CodeReward) -> None:
    answers = {
        "py_first": ("python", "n = int(input())\nprint(0, n)"),
        "py_half": ("python", "n = int(input())\nprint(n // 2, n - n // 2)"),
        "c_last": ("c", '#include <stdio.h>\nint main(){long n;scanf("%ld",&n);printf("%ld 0\\n",n);}'),
        "py_wrong_sum": ("python", "n = int(input())\nprint(1, n)"),
        "py_one_number": ("python", "print(int(input()))"),
        "py_extra": ("python", "n = int(input())\nprint(0, n, 5)"),
    }  # fmt: skip
    samples = [
        {"completion": fenced(lang, code), "tests": SPLIT} for lang, code in answers.values()
    ]
    scores = dict(zip(answers, reward.score(samples), strict=True))
    for name in ("py_first", "py_half"):
        assert (scores[name].value, scores[name].status) == (1.0, "ok"), scores[name]
    if available("c"):
        assert scores["c_last"].value == 1.0, scores["c_last"]
    for name in ("py_wrong_sum", "py_one_number", "py_extra"):
        assert (scores[name].value, scores[name].status) == (0.0, "ok"), scores[name]
        assert "checker:" in scores[name].details["first_failure"]
    assert "!=" in scores["py_wrong_sum"].details["first_failure"]  # the checker's own words


@pytest.mark.skipif(not available("cpp"), reason="g++ is not installed")
def test_a_broken_checker_is_the_tasks_fault(reward: CodeReward) -> None:
    bad = dict(SPLIT, checker={"language": "cpp", "source": "int main(){ return 3; }"})
    [s] = reward.score([{"completion": fenced("python", "print(1, 1)"), "tests": bad}])
    assert s.status == "unverifiable" and s.value is None
    assert "checker" in s.reason
    nobuild = dict(SPLIT, checker={"language": "cpp", "source": "int main( {"})
    [t] = reward.score([{"completion": fenced("python", "print(1, 1)"), "tests": nobuild}])
    assert t.status == "unverifiable" and "does not build" in t.reason


# -- IOI subtasks ---------------------------------------------------------------------------
IOI = {
    "type": "stdio",
    "cases": [{"input": f"{n}\n", "output": f"{n * (n + 1) // 2}\n"} for n in (1, 2, 10, 100000)],
    "subtasks": [
        {"name": "tiny", "points": 20, "cases": [0, 1]},
        {"name": "small", "points": 30, "cases": [0, 1, 2]},
        {"name": "full", "points": 50, "cases": [0, 1, 2, 3]},
    ],
}


def test_ioi_subtasks_sum_the_points_of_fully_passed_subtasks(reward: CodeReward) -> None:
    solutions = {
        "full": "n = int(input())\nprint(n * (n + 1) // 2)",
        "small_only": "n = int(input())\nprint(n * (n + 1) // 2 if n <= 10 else 0)",
        "tiny_only": "n = int(input())\nprint(n * (n + 1) // 2 if n <= 2 else -1)",
        "none": "print(1)",  # passes case 0 only: no subtask is complete
    }
    samples = [{"completion": fenced("python", code), "tests": IOI} for code in solutions.values()]
    scores = dict(zip(solutions, reward.score(samples), strict=True))
    expected = {"full": 100, "small_only": 50, "tiny_only": 20, "none": 0}
    for name, points in expected.items():
        s = scores[name]
        assert s.status == "ok", s
        assert s.details["points"] == points, (name, s.details)
        assert s.details["max_points"] == 100
        assert s.value == pytest.approx(points / 100)
    assert [x["passed"] for x in scores["small_only"].details["subtasks"]] == [True, True, False]


@pytest.mark.skipif(not available("cpp"), reason="g++ is not installed")
def test_ioi_subtasks_in_cpp(reward: CodeReward) -> None:
    code = ("#include <cstdio>\nint main(){long long n;scanf(\"%lld\",&n);"
            "printf(\"%lld\\n\", n <= 10 ? n*(n+1)/2 : 0LL);}")  # fmt: skip
    [s] = reward.score([{"completion": fenced("cpp", code), "tests": IOI}])
    assert (s.details["points"], s.value, s.details["language"]) == (50, 0.5, "cpp"), s


def test_subtask_case_out_of_range_is_unverifiable(reward: CodeReward) -> None:
    bad = dict(IOI, subtasks=[{"points": 10, "cases": [9]}])
    [s] = reward.score([{"completion": "print(1)", "tests": bad}])
    assert s.status == "unverifiable" and "case 9" in s.reason


# -- choosing the language and the code: bounded on hostile input ---------------------------


@pytest.mark.parametrize(
    ("completion", "task", "lang"),
    [
        ("```cpp\nint main(){}\n```", None, "cpp"),
        ("```python\nprint(1)\n```\n```cpp\nint main(){}\n```", None, "python"),
        ("```\nint main(){}\n```", "C++", "cpp"),
        ("```rust\nfn main(){}\n```\n```text\n3\n```", None, "rust"),
        ("no fences at all", None, "python"),
        ("```go\npackage main\n```", "python", "python"),
    ],
)
def test_choose_language(completion: str, task: str | None, lang: str) -> None:
    assert choose_language(completion, task) == lang


def test_extract_native_prefers_the_tagged_block() -> None:
    text = "```\nuntagged\n```\n```java\nfirst\n```\n```java\nsecond\n```"
    assert extract_native(text, "java") == ("second\n", "fenced")
    assert extract_native("```cpp\nx\n```", "go") == ("", "fenced")
    assert extract_native("plain", "go") == ("plain", "plain")


@settings(max_examples=60, deadline=2000)
@given(
    st.lists(
        st.sampled_from(["`", "```", "~~~", "\n", " ", "c", "+", "java", "x"]), max_size=1500
    ).map("".join)
)
def test_language_choice_is_bounded_on_hostile_text(text: str) -> None:
    """Fence soup (unclosed fences, fences of fences): an answer, quickly, never an error."""
    lang = choose_language(text)
    assert lang in ("python", "c", "cpp", "java")
    program, how = extract_native(text, "cpp")
    assert how in ("fenced", "untagged", "plain") and len(program) <= len(text)


def test_language_choice_is_linear_in_length() -> None:
    import time

    def cost(n: int) -> float:
        text = ("```c++\n" + "x" * 50 + "\n") * n  # unclosed fences everywhere
        t0 = time.perf_counter()
        choose_language(text)
        extract_native(text, "cpp")
        return time.perf_counter() - t0

    small, big = cost(500), cost(5000)
    assert big < max(small, 1e-3) * 40  # 10x the text: far from quadratic


@pytest.mark.skipif(not available("cpp"), reason="g++ is not installed")
def test_checker_files_are_placed_next_to_its_source(reward: CodeReward) -> None:
    """testlib style: the task ships its header with the checker."""
    header = "#pragma once\n#include <cstdio>\ninline bool same_sum(long n, long a, long b) { return a >= 0 && b >= 0 && a + b == n; }\n"
    source = (
        '#include "judge.h"\nint main(int c, char** v) { FILE* i = fopen(v[1], "r"); FILE* o = fopen(v[2], "r");'
        ' long n, a, b; if (fscanf(i, "%ld", &n) != 1) return 3; if (fscanf(o, "%ld %ld", &a, &b) != 2) return 1;'
        " return same_sum(n, a, b) ? 0 : 1; }"
    )
    task = dict(SPLIT, checker={"language": "cpp", "source": source, "files": {"judge.h": header}})
    good, bad = reward.score([
        {"completion": fenced("python", "n = int(input())\nprint(n, 0)"), "tests": task},
        {"completion": fenced("python", "print(5, 5)"), "tests": task},
    ])  # fmt: skip
    assert (good.value, bad.value) == (1.0, 0.0), (good, bad)


def test_python_checker(reward: CodeReward) -> None:
    checker = (
        "import sys\n"
        "n = int(open(sys.argv[1]).read())\n"
        "got = open(sys.argv[2]).read().split()\n"
        "sys.exit(0 if len(got) == 2 and all(x.isdigit() for x in got) and sum(map(int, got)) == n else 1)\n"
    )
    task = dict(SPLIT, checker={"language": "python", "source": checker})
    good, bad = reward.score([
        {"completion": fenced("python", "n = int(input())\nprint(1, n - 1)"), "tests": task},
        {"completion": fenced("python", "print(0, 0)"), "tests": task},
    ])  # fmt: skip
    if not available("python"):
        assert good.status == "unverifiable"
        return
    assert (good.value, bad.value) == (1.0, 0.0), (good, bad)


def test_language_option_through_a_pipeline_spec() -> None:
    """`with: {language: c}` in a pipeline forces the language for every sample."""
    import assay

    if not available("c"):
        pytest.skip("gcc is not installed")
    source = (DATA / "main.c").read_text()
    pipe = assay.load_pipeline(
        {"rewards": [{"use": "code", "with": {"language": "c", "case_timeout": 2.0}}]}
    )
    try:
        [res] = pipe.score([{"completion": f"```\n{source}\n```", "tests": ADD}])
        assert res.reward == 1.0, res
        assert res.components["code"].details["language"] == "c"
    finally:
        pipe.close()
