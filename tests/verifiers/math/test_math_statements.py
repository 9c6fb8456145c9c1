"""The failure classes the red-team set found (tests/verifiers/math/data/redteam_cases.jsonl),
each with fresh cases written here: end-of-turn tokens, Chinese sentences, choice letters,
rejected values, revisions and hedges, conditional statements, answers in words, notation,
the echo check on a fraction in lowest terms, code blocks, garbage tails and precision. Real
reward, real sympy workers."""

from __future__ import annotations

import pytest

import assay
from assay_verifiers.math.extract import extract_answer


@pytest.fixture(scope="module")
def math():
    r = assay.get_reward("math", timeout=5.0)
    yield r
    r.close()


def _value(reward, completion, answer, prompt=""):
    return reward.score([assay.Sample(prompt=prompt, completion=completion, answer=answer)])[
        0
    ].value


CASES = [
    # end-of-turn tokens: what follows is not the model's answer
    ("So the total is 36.<|eot_id|>", "36", 1.0),
    (
        "The answer is $\\frac{2}{5}$<|im_end|>\n<|im_start|>user\nAnd 1+1?<|im_end|>\nIt is 2",
        "0.4",
        1.0,
    ),
    (
        "The answer is $\\frac{2}{5}$<|im_end|>\n<|im_start|>user\nAnd 1+1?<|im_end|>\nIt is 2",
        "2",
        0.0,
    ),
    ("<|im_start|>assistant\nThe answer is 8<|im_end|>", "8", 1.0),
    # Chinese sentences: the value after the verb, or the one number; never the whole sentence
    ("他一共走了 15 千米。", "15", 1.0),
    ("答：小明还剩 8 本书。", "8", 1.0),
    ("答：小明还剩 8 本书。", "9", 0.0),
    ("所以 $y$ 的最小值为 $-2$。", "-2", 1.0),
    ("故 $\\triangle ABC$ 的面积等于 $6\\sqrt{3}$。", "6\\sqrt3", 1.0),
    # rejected values are no answer
    ("The answer is not 9.", "9", 0.0),
    ("The answer cannot be 4, since 4 is even.", "4", 0.0),
    ("The answer is not 20, it is 24.", "24", 1.0),
    ("Earlier I wrote 31, but the correct value is 13, not 31.", "13", 1.0),
    ("Earlier I wrote 31, but the correct value is 13, not 31.", "31", 0.0),
    ("31 is incorrect.", "31", 0.0),
    ("Here y is not equal to 8.", "8", 0.0),
    ("The answer is 12 not 21", "12", 1.0),
    # revisions in words
    ("So \\boxed{40}. Hmm, that double-counts; it should be 36.", "36", 1.0),
    ("So \\boxed{40}. Hmm, that double-counts; it should be 36.", "40", 0.0),
    ("Some would say the answer is 10, but it is actually 12.", "12", 1.0),
    # hedges: sprays, parentheses, prose, numbered candidates
    ("\\boxed{3}\n\\boxed{4}\n\\boxed{5}", "5", 0.0),
    ("\\boxed{64} (or maybe 65 if the ends count)", "64", 0.0),
    ("Hard to say. Perhaps 21? Or 22?", "22", 0.0),
    ("Guess 1: 10\nGuess 2: 11", "11", 0.0),
    # a final list of numbers answers a multi-part gold, all of it or nothing
    ("So the solutions are 4 and 7.", "4, 7", 1.0),
    ("So the candidates are 1, 4 and 7.", "4, 7", 0.0),
    ("She has 5 apples and 3 pears.", "3", 1.0),
    # conditional statements
    ("\\boxed{30}\n\nIf the tank held 50 litres, the answer would be \\boxed{25}.", "30", 1.0),
    ("\\boxed{30}\n\nIf the tank held 50 litres, the answer would be \\boxed{25}.", "25", 0.0),
    ("The answer is 6. If order matters, then the answer is 12.", "12", 0.0),
    ("The answer is 6. If order matters, then the answer is 12.", "6", 0.0),
    # answer sentences
    ("The answer is: no, 91 = 7 x 13 is not prime.", "\\text{no}", 1.0),
    ("So the answer is 3/4 of the cake, i.e. 6 slices.", "6", 1.0),
    ("The answer is the value 11.", "11", 1.0),
    ("The answer is 30 minutes, and the bus takes 45.", "30", 1.0),
    ("<answer>She needs 14 tiles.</answer>", "14", 1.0),
    ("- Red: 3\n- Blue: 5\n- **Sum: 8**", "8", 1.0),
    ("The answer is $-$12.", "-12", 1.0),
    ("\\boxed{\\text{So the answer is } 27}", "27", 1.0),
    ("**Part 1: Count the rows.** 6 rows of 9 seats give 54 seats.", "54", 1.0),
    # answers in words and notation
    ("The answer is seven.", "7", 1.0),
    ("\\boxed{\\text{negative three}}", "-3", 1.0),
    ("\\boxed{\\text{ninety-one}}", "91", 1.0),
    ("The city has about 1.2 million people.", "1200000", 1.0),
    ("In the end she keeps fifteen stamps.", "15", 1.0),
    ("妈妈买了五个橙子。", "5", 1.0),
    ("I cannot tell which one.", "1", 0.0),
    ("The answer cannot be determined.", "5", 0.0),
    ("\\boxed{\\text{all real numbers}}", "(-\\infty, \\infty)", 1.0),
    ("\\boxed{\\text{no real solutions}}", "\\emptyset", 1.0),
    ("\\boxed{0.\\dot{6}}", "\\frac23", 1.0),
    ("\\boxed{\\langle 3, -1 \\rangle}", "(3,-1)", 1.0),
    ("$m\\angle PQR = 40^\\circ$", "40", 1.0),
    ("\\boxed{-40^{\\circ}\\text{F}}", "-40", 1.0),
    ("\\boxed{24 \\text{ (because } 4 \\times 6 = 24)}", "24", 1.0),
    ("The train leaves at 9:15 AM.", "9:15", 1.0),
    ("The train leaves at 9:15 AM.", "15", 0.0),
    ("So the inequality holds for all real numbers.", "(-\\infty, \\infty)", 1.0),
    ("Squaring both sides shows there are no real roots.", "\\emptyset", 1.0),
    # precision: exact values that differ past 16 digits are different
    ("\\boxed{\\sqrt{3} + 10^{-19}}", "\\sqrt{3}", 0.0),
    ("\\boxed{1.7320508075688772}", "\\sqrt{3}", 1.0),
    # a program states nothing; its output block does
    ("```python\nprint(r'\\boxed{12}')\n```", "12", 0.0),
    ("```python\nprint(3*4)\n```\n```output\n12\n```\nSo there are $\\boxed{12}$ eggs.", "12", 1.0),
    # a number inside braces never closed is no answer
    ("\\sqrt{\\sqrt{\\sqrt{\\sqrt{" * 50 + "2", "2", 0.0),
]


@pytest.mark.parametrize(("completion", "gold", "want"), CASES)
def test_class(math, completion: str, gold: str, want: float) -> None:
    assert _value(math, completion, gold) == want


MC_PROMPT = "Which is a perfect square?\n(A) 50 (B) 63 (C) 81 (D) 90"
CHOICES = [
    ("Answer: (C) 81", "C", 1.0),
    ("The answer is (c).", "C", 1.0),
    ("\\boxed{\\text{(C) } 81}", "C", 1.0),
    ("\\boxed{(C)\\ 81}", "C", 1.0),
    ("The correct answer is option C.", "C", 1.0),
    ("答案：（C）", "C", 1.0),
    ("因此选（C）。", "C", 1.0),
    ("【答案】C", "C", 1.0),
    ("所以选 A 和 C。", "C", 0.0),
    ("Maybe (A), maybe (C). I'm going with (C).", "C", 1.0),
    (
        "(A) 50 is not a square.\n(B) 63 is not a square.\n(C) 81 = 9^2.\n(D) 90 is not a square.",
        "C",
        1.0,
    ),
    ("(A) and (C) both look plausible, but only (C) is a square.", "C", 1.0),
    ("The answer is 81.", "C", 1.0),
    ("The answer is 81.", "B", 0.0),
]


@pytest.mark.parametrize(("completion", "gold", "want"), CHOICES)
def test_choice(math, completion: str, gold: str, want: float) -> None:
    assert _value(math, completion, gold, MC_PROMPT) == want


def test_option_value_from_a_chat_prompt(math) -> None:
    chat = [{"role": "user", "content": MC_PROMPT}]
    assert _value(math, "The answer is 81.", "C", chat) == 1.0


def test_echo_spares_a_fraction_in_lowest_terms_not_an_unsimplified_one(math) -> None:
    prompt = "Which is larger, $\\frac{2}{3}$ or $\\frac{5}{7}$?"
    assert _value(math, "\\boxed{\\frac{5}{7}}", "\\frac57", prompt) == 1.0
    assert _value(math, "\\boxed{\\frac{6}{8}}", "\\frac34", "Simplify $\\frac{6}{8}$.") == 0.0


def test_a_counterfactual_alone_still_answers() -> None:
    assert extract_answer("If x = 3, then the answer is \\boxed{9}.").candidates == ("9",)


def test_an_answer_stated_before_a_long_ramble_is_read() -> None:
    ramble = "Let me think about unrelated things for a while. " * 1000  # 50,000 characters
    assert extract_answer("The answer is \\boxed{42}. " + ramble).candidates == ("42",)
    # a statement in the tail still wins over one in the head
    assert extract_answer("The answer is 41. " + ramble + "So \\boxed{42}.").candidates == ("42",)
