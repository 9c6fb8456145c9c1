"""The classes of real-output failures of issue 14, each with fresh cases: answer extraction on
real endings, the final-answer rule, notation, the numeric policy, the echo check by tokens,
prose golds, and scoring only what follows the reasoning. Real reward, real sympy workers."""

from __future__ import annotations

import pytest

import assay


@pytest.fixture(scope="module")
def math():
    r = assay.get_reward("math", timeout=5.0)
    yield r
    r.close()


def _score(reward, completion, answer, prompt="") -> assay.Score:
    return reward.score([assay.Sample(prompt=prompt, completion=completion, answer=answer)])[0]


ENDINGS = [
    # GSM8K few-shot "A:" line and "####"
    ("Tom has 4 bags of 7 pens, 4 * 7 = <<4*7=28>>28 pens.\nA: 28", "28", 1.0),
    ("Tom has 4 bags of 7 pens, 4 * 7 = <<4*7=28>>28 pens.\nA: 27", "28", 0.0),
    ("so she keeps 9 cups.\n#### 9", "9", 1.0),
    # lm-eval's Minerva MATH format
    ("Final Answer: The final answer is $\\frac{3}{8}$. I hope it is correct.", "0.375", 1.0),
    ("Final Answer: The final answer is $41$. I hope it is correct.", "14", 0.0),
    ("Final Answer: The final answer is 2718. I hope it is correct.", "2718", 1.0),
    ("Final Answer: The final answer is $\\$36$. I hope it is correct.", "36", 1.0),
    # a few-shot model that goes on to the next problem: its answer came before
    (
        "x = 2.\nFinal Answer: The final answer is $2$. I hope it is correct.\n\n"
        "Problem:\nFind y.\n\nSolution:\nFinal Answer: The final answer is $7$.",
        "2",
        1.0,
    ),
    ("She has 3 left.\nA: 3\n\nQ: How many now?\nA: 9", "9", 0.0),
    # ... but a "Q:" inside the reasoning, long after an early statement, is no new item
    (
        "The answer is 4 if x = 1." + " Then we go on." * 40 + "\nQ: and if x = 2?\nSo \\boxed{8}",
        "8",
        1.0,
    ),
    # a sentence after "the answer is"
    ("So the answer is: the smallest $k$ is 19.", "19", 1.0),
    ("Therefore the answer is: the number of pairs is 6.", "7", 0.0),
    # money dollars are not math delimiters
    ("Pens cost $3 + $5 = $<<3+5=8>>8.\nA: 8", "8", 1.0),
    ("He paid $12 for lunch and $30 for shoes, a total of $42.", "42", 1.0),
    ("He paid $12 for lunch and $30 for shoes, a total of $41.", "42", 0.0),
    ("The total is \\$18.25.", "18.25", 1.0),
    ("Pam pays $\\boxed{\\$10}$ more.  #### \\$10 ", "10", 1.0),
    ("The roots are $x=3$ and $x=5$.", "3, 5", 1.0),  # no statement: the last run of spans
    ("The roots are $x=3$ or $x=5$.", "5", 0.0),
    # unit words after a number
    ("The entropy is \\boxed{1.5 bits}.", "1.5", 1.0),
    ("So the frequency is \\boxed{440 Hz}", "440", 1.0),
    ("所以答案是 15 个。", "15", 1.0),
    # Chinese phrasing
    ("计算得 3+4=7\uff0c故答案为 7。", "7", 1.0),
    ("计算得 3+4=7\uff0c答案为 8。", "7", 0.0),
    ("所以答案是 \\frac{1}{4}。", "0.25", 1.0),
    ("答案是 3 或 4", "3", 0.0),  # a hedge in Chinese
    ("答案是 3 或 4", "3, 4", 1.0),
    ("答案是 ¥12", "12", 1.0),
    # money in the sentence of an answer phrase
    ("The answer is $18. Next, we check 3 + 15 = 18 and 2 + 2 = 4.", "18", 1.0),
    # a word after "the answer is" does not override a stated value
    ("So \\boxed{15}. Check: the answer is consistent.", "15", 1.0),
    ("The day is Monday, so the answer is Monday.", "Monday", 1.0),
    ("It takes \\boxed{3} days, so the answer is Tuesday.", "Tuesday", 1.0),
    ("\\boxed{4}\n\nThe answer is not unique, though.", "4", 1.0),
    # AMC-style labelled value for a numeric gold
    ("\\boxed{\\textbf{(B) }3}", "3", 1.0),
    # a bold intermediate value does not take the answer's place
    ("First **12** eggs are used.\nThen the rest gives $30$ eggs in all.", "30", 1.0),
    ("First **12** eggs are used. The answer is 31.", "12", 0.0),
]


@pytest.mark.parametrize(("completion", "answer", "value"), ENDINGS)
def test_real_endings(math, completion, answer, value) -> None:
    s = _score(math, completion, answer)
    assert (s.status, s.value) == ("ok", value), (s.reason, s.details)


CHOICES = [
    ("The answer is (C).", "C", 1.0),
    ("所以选 B。", "B", 1.0),
    ("答案是 D", "D", 1.0),
    ("答案是 D", "B", 0.0),
    # option-by-option analysis: rejected options do not count
    (
        "Option A is wrong since 2 > 1.\nOption B is correct: 3 = 3.\n"
        "Option C is incorrect.\nOption D is not possible.",
        "B",
        1.0,
    ),
    ("(A) fails. (B) fails. (C) fails. (D) is not right either.", "D", 0.0),
    ("(A) 12: too small.\n(B) 15: this works.\n(C) 18: too big.\n(D) 21: too big.", "D", 0.0),
    ("(A) 12: too small.\n(B) 15: this works.\n(C) 18: too big.\n(D) 21: too big.", "B", 1.0),
    ("\\boxed{\\mathrm{E}*2}", "E", 0.0),  # an expression, not option E
]


@pytest.mark.parametrize(("completion", "answer", "value"), CHOICES)
def test_multiple_choice(math, completion, answer, value) -> None:
    assert _score(math, completion, answer).value == value


FINAL_ANSWER = [
    # a later statement revises an earlier one
    ("\\boxed{12}\n\nWait, 3 x 5 = 15, so the answer is 15.", "15", 1.0),
    ("\\boxed{12}\n\nWait, 3 x 5 = 15, so the answer is 15.", "12", 0.0),
    ("The answer is 7.\n\nLet me recheck... no, it is \\boxed{8}.", "8", 1.0),
    ("The answer is 12. Actually, no, it is 15.", "15", 1.0),
    ("The answer is 12. Actually, no, it is 15.", "12", 0.0),
    # several boxes in one sentence: a multi-part answer, or a hedge
    ("The roots are \\boxed{2} and \\boxed{3}.", "2, 3", 1.0),
    ("$\\boxed{1}\\boxed{2}$", "\\{1,2\\}", 1.0),
    ("The roots are \\boxed{2} and \\boxed{3}.", "2", 0.0),
    ("It is either \\boxed{4} or \\boxed{5}.", "4", 0.0),
    # a k-part gold answered part by part in separate sentences: the last k boxes
    ("(a) The width is \\boxed{4}.\n\n(b) The height is \\boxed{9}.", "4, 9", 1.0),
    ("(a) The width is \\boxed{4}.\n\n(b) The height is \\boxed{9}.", "9, 4", 1.0),
    ("(a) The width is \\boxed{4}.\n\n(b) The height is \\boxed{9}.", "4, 8", 0.0),
    ("The answer is 4 or 5.", "5", 0.0),
]


@pytest.mark.parametrize(("completion", "answer", "value"), FINAL_ANSWER)
def test_final_answer_rule(math, completion, answer, value) -> None:
    s = _score(math, completion, answer)
    assert s.value == value, (s.reason, s.details)


NOTATION = [
    ("\\boxed{11,\\! 111,\\! 100}", "11111100", 1.0),
    ("\\boxed{\\cfrac{2}{3}}", "\\frac23", 1.0),
    ("\\boxed{\\dbinom{6}{2}}", "15", 1.0),
    ("\\boxed{\\textnormal{Tuesday}}", "Tuesday", 1.0),
    ("\\boxed{4 \\pmod{9}}", "4", 1.0),
    ("\\boxed{5 \\bmod 9}", "4", 0.0),
    ("\\boxed{-2 \\le x \\le 5}", "[-2, 5]", 1.0),
    ("\\boxed{(p,q)=(5,3)}", "(5,3)", 1.0),
    ("\\boxed{(p,q)=(3,5)}", "(5,3)", 0.0),
    ("\\boxed{9:20}", "9:20", 1.0),
    ("\\boxed{18:40}", "\\frac{9}{20}", 1.0),
    ("\\boxed{3\\tfrac14}", "3.25", 1.0),
    ("\\boxed{3 1/4}", "13/4", 1.0),
    ("\\boxed{3 1/4}", "3/4", 0.0),  # a mixed number, never 3 x 1/4
    ("\\boxed{0.\\overline{27}}", "\\frac{3}{11}", 1.0),
    ("\\boxed{0.\\overline{27}}", "\\frac{27}{100}", 0.0),
    ("\\boxed{y = 2+3+4 = 9}", "9", 1.0),
    ("\\boxed{\\frac{2}{3} \\approx 0.67}", "\\frac23", 1.0),
    ("\\boxed{\\{x \\mid x > 2\\}}", "(2, \\infty)", 1.0),
    ("\\boxed{x \\in [0, 4)}", "[0,4)", 1.0),
    ("\\boxed{x \\in [0, 4]}", "[0,4)", 0.0),
    ("\\boxed{\\text{Yes}}", "True", 1.0),
    ("\\boxed{no}", "False", 1.0),
    ("\\boxed{no}", "True", 0.0),
    ("\\boxed{\\sin 30^\\circ}", "\\frac12", 1.0),
    ("\\boxed{\\int_0^2 3x^2 \\, dx}", "8", 1.0),
    ("\\boxed{\\int_0^2 3x^2 \\, dx}", "6", 0.0),
    ("\\boxed{\\sum_{i=1}^{4} i^2}", "30", 1.0),  # i is the index, not the imaginary unit
    ("\\boxed{\\sum_{k=1}^{n} k}", "\\frac{n(n+1)}{2}", 1.0),
    ("\\boxed{\\prod_{k=1}^{4} k}", "24", 1.0),
    ("\\boxed{\\lim_{x \\to 0} \\frac{\\sin x}{x}}", "1", 1.0),
    ("\\boxed{\\lim_{x \\to 0^+} \\frac{1}{x}}", "\\infty", 1.0),
    ("\\boxed{\\frac{1}{\\sqrt{n}}}", "\\sqrt{1/n}", 1.0),  # equal wherever both are real
    ("\\boxed{\\sqrt{x-5}}", "\\sqrt{x-6}", 0.0),
    ("\\boxed{1011_2}", "11", 1.0),
    ("\\boxed{1021_2}", "11", 0.0),  # 2 is no digit in base 2: does not parse
]


@pytest.mark.parametrize(("completion", "answer", "value"), NOTATION)
def test_notation(math, completion, answer, value) -> None:
    s = _score(math, completion, answer)
    assert (s.status, s.value) == ("ok", value), (s.reason, s.details)


def test_a_list_gold_is_a_set_of_alternatives(math) -> None:
    assert _score(math, "\\boxed{\\frac{1}{2}}", ["0.5", "1/2"]).value == 1.0
    assert _score(math, "\\boxed{6}", ["5", "6"]).value == 1.0
    assert _score(math, "\\boxed{7}", ["5", "6"]).value == 0.0
    assert _score(math, "\\boxed{5, 6}", ["5", "6"]).value == 0.0  # a hedge is no alternative


NUMERIC = [
    ("\\boxed{0.3333333333333333}", "\\frac13", {}, 1.0),  # a float print of 1/3
    ("\\boxed{3.141592653589793}", "\\pi", {}, 1.0),
    ("\\boxed{0.6666666666666666}", "2/3", {}, 1.0),  # cut, not rounded
    ("\\boxed{0.333333}", "\\frac13", {}, 1.0),  # six places
    ("\\boxed{0.333}", "\\frac13", {}, 0.0),  # too few places for an exact gold
    ("\\boxed{3.14159}", "\\pi", {}, 0.0),
    ("\\boxed{3.141593}", "\\pi", {}, 1.0),
    ("\\boxed{0.000001}", "\\frac{1}{800000}", {}, 0.0),  # six places, one digit
    ("\\boxed{3.14}", "\\pi", {}, 0.0),
    ("\\boxed{\\frac13}", "0.33", {}, 1.0),  # a rounded gold accepts what rounds to it
    ("\\boxed{0.34}", "0.33", {}, 0.0),  # two decimals compare exactly
    ("\\boxed{0.3333333333333333}", "\\frac13", {"numeric": "exact"}, 0.0),
    ("\\boxed{\\frac13}", "0.33", {"numeric": "exact"}, 0.0),
    ("\\boxed{25\\%}", "0.25", {}, 1.0),
]


@pytest.mark.parametrize(("completion", "answer", "options", "value"), NUMERIC)
def test_one_numeric_policy(completion, answer, options, value) -> None:
    r = assay.get_reward("math", **options)
    try:
        s = _score(r, completion, answer)
    finally:
        r.close()
    assert s.value == value, (s.reason, s.details)


def test_a_percent_answer_to_a_percentage_question(math) -> None:
    q = "What percentage of the class are girls?"
    assert _score(math, "\\boxed{40\\%}", "40", q).value == 1.0
    assert _score(math, "\\boxed{40\\%}", "40", "How many are girls?").value == 0.0
    q = "What is the probability that both coins land heads?"
    assert _score(math, "\\boxed{0.25\\%}", "0.25", q).value == 0.0  # 0.25% is 0.0025
    assert _score(math, "\\boxed{25\\%}", "0.25", q).value == 1.0


def test_echo_check_by_tokens(math) -> None:
    q = "Evaluate $\\sqrt{36}$."
    assert _score(math, "\\boxed{\\sqrt{36}}", "6", q).value == 0.0
    assert _score(math, "\\boxed{6}", "6", q).value == 1.0
    q = "Factor $x^2+2x+1$ and give one factor."
    assert _score(math, "\\boxed{x+1}", "x+1", q).value == 1.0


def test_a_single_word_completion_is_an_answer(math) -> None:
    assert _score(math, "Tuesday", "\\text{Tuesday}").value == 1.0
    assert _score(math, "Tuesday.", "Monday").value == 0.0
    assert _score(math, "no idea", "Monday").reason == "no answer found in the completion"


def test_a_short_word_gold_is_still_an_answer(math) -> None:
    assert _score(math, "\\boxed{\\text{no real solutions}}", "no real solutions").value == 1.0
    assert _score(math, "\\boxed{\\text{two real solutions}}", "no real solutions").value == 0.0


@pytest.mark.parametrize("gold", ["The proof is complete.", "See the argument above for details"])
def test_a_prose_gold_is_unverifiable(math, gold) -> None:
    s = _score(math, "\\boxed{5}", gold)
    assert (s.status, s.value) == ("unverifiable", None), s.reason
    fn = assay.load_pipeline({"rewards": [{"use": "math"}]}).as_trl()[0]
    assert fn(prompts=["q"], completions=["\\boxed{5}"], answer=[gold]) == [None]


def test_scoring_only_after_the_reasoning() -> None:
    r = assay.get_reward("math", answer_after="</think>")
    try:
        text = "<think>maybe \\boxed{4}</think> The answer is 5."
        assert _score(r, text, "5").value == 1.0
        assert _score(r, text, "4").value == 0.0
        s = _score(r, "no delimiter, \\boxed{5}", "5")
        assert (s.value, "</think>" in s.reason) == (0.0, True)
    finally:
        r.close()
    r = assay.get_reward("math", answer_after="### Final")
    try:
        assert _score(r, "work \\boxed{9}\n### Final\n\\boxed{8}", "8").value == 1.0
    finally:
        r.close()
