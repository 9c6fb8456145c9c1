"""The adapters fed payloads shaped exactly as the trainers send them, scored by the real
verifiers (math, think_format, the sandboxed code reward), in-process and through a real
`assay serve` on loopback.

Shapes (from the trainers' sources): OpenRLHF decodes the whole sequence with its special
tokens (left padding, the chat-templated prompt, the response, ``<|im_end|>``) and posts
``{"query": [...], "prompts": [...], "labels": [...]}`` to ``--remote_rm_url`` or calls
``reward_func(queries, prompts, labels)``; verl's ``NaiveRewardManager`` decodes the response
without skipping special tokens and calls ``compute_score(data_source=, solution_str=,
ground_truth=, extra_info=)`` per sample, its ``BatchRewardManager`` passes
``data_sources=`` (a numpy object array), ``solution_strs=``, ``ground_truths=``,
``extra_infos=`` (a numpy object array of dicts); parquet datasets carry code tests as a JSON
string in ``reward_model.ground_truth`` (PRIME/Eurus: APPS/TACO ``inputs``/``outputs``,
``fn_name`` for call tests) and lists inside ``extra_info`` as numpy arrays.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from assay import NonOkRateExceeded
from assay.pipeline import load_pipeline

np = pytest.importorskip("numpy")

SPEC = {
    "name": "rl",
    "route": {
        "by": "metadata.task",
        "routes": {
            "math": {
                "name": "math_task",
                "rewards": [
                    {"use": "think_format", "gate": True, "weight": 0.0},
                    {"use": "math"},
                ],
            },
            "code": {"use": "code", "timeout": 30},
        },
        "default": {"use": "exact_match"},
    },
}

SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


def chatml_prompt(question: str) -> str:
    return f"{SYSTEM}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


def llama3_prompt(question: str) -> str:
    return (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"{question}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


MATH_OK = "<think>6 times 7 is 42</think><answer>42</answer>"
CODE_OK = "<think>sum</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
CALL_OK = "```python\ndef add(a, b):\n    return a + b\n```"
APPS_STDIO = json.dumps({"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]})
TACO_CALL = json.dumps({"fn_name": "add", "inputs": [[1, 2], [5, 5]], "outputs": [[3], [10]]})


@pytest.fixture(scope="module")
def pipe():
    p = load_pipeline(SPEC)
    yield p
    p.close()


# -- OpenRLHF --------------------------------------------------------------------------------


def openrlhf_batch() -> tuple[list[str], list[str], list]:
    q_math = chatml_prompt("What is 6*7?")
    q_code = chatml_prompt("Read two integers and print their sum.")
    q_call = llama3_prompt("Write add(a, b).")
    prompts = [q_math, q_code, q_call, q_math, q_math]
    responses = [
        MATH_OK + "<|im_end|>",  # the end-of-turn token OpenRLHF decodes with the sequence
        CODE_OK + "<|im_end|>\n<|endoftext|><|endoftext|>",  # then right padding
        CALL_OK + "<|eot_id|>",
        "<think>hmm</think><answer>41</answer><|im_end|>",  # wrong answer
        "<think>x</think><answer>3</answer><|im_end|>",  # gold answer that cannot be parsed
    ]
    # Left padding of the batch, as decoded with skip_special_tokens=False.
    queries = [
        "<|endoftext|>" * (i % 3) + p + r for i, (p, r) in enumerate(zip(prompts, responses))
    ]
    labels = [
        json.dumps({"answer": "42", "metadata": {"task": "math"}}),  # JSON-string label
        json.dumps({"tests": APPS_STDIO, "metadata": {"task": "code"}}),  # tests as JSON text
        {"tests": json.loads(TACO_CALL), "metadata": {"task": "code"}},  # a dict label
        json.dumps({"answer": "42", "metadata": {"task": "math"}}),
        json.dumps({"answer": "\\frac{", "metadata": {"task": "math"}}),
    ]
    return queries, prompts, labels


def test_openrlhf_reward_func_scores_real_payloads(pipe):
    torch = pytest.importorskip("torch")
    queries, prompts, labels = openrlhf_batch()
    out = pipe.as_openrlhf()(queries, prompts, labels)
    assert isinstance(out["rewards"], torch.Tensor)
    assert out["rewards"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    logs = {k: v.tolist() for k, v in out["extra_logs"].items()}
    assert logs["assay/math/unverifiable"] == [0.0, 0.0, 0.0, 0.0, 1.0]  # not a silent 0
    assert logs["assay/code/error"] == [0.0] * 5
    assert logs["think_format"][:1] == [1.0]  # the <|im_end|> no longer fails the format


def test_openrlhf_plain_labels_and_end_tokens_alone():
    p = load_pipeline({"rewards": [{"use": "think_format"}, {"use": "math"}]})
    prompt = chatml_prompt("2+2?")
    queries = [prompt + "<think>2+2</think><answer>4</answer></s>", prompt + "<answer>4</answer>"]
    rewards, logs = p.as_openrlhf().scores(queries, [prompt, prompt], ["4", "4"])
    assert rewards == [2.0, 1.0] and logs["think_format"] == [1.0, 0.0]


def test_assay_serve_answers_openrlhf_posts(tmp_path):
    spec = tmp_path / "rl.yaml"
    spec.write_text(json.dumps(SPEC))
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay.cli", "serve", "-p", str(spec), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "assay: serving rl on http://127.0.0.1:PORT"
        url = line.strip().rsplit(" ", 1)[-1] + "/get_reward"
        queries, prompts, labels = openrlhf_batch()
        body = json.dumps({"query": queries, "prompts": prompts, "labels": labels}).encode()
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:  # as OpenRLHF's requests.post
            data = json.loads(resp.read())
        assert data["rewards"] == [1.0, 1.0, 1.0, 0.0, 0.0]
        assert data["extra_logs"]["assay/math/unverifiable"] == [0.0, 0.0, 0.0, 0.0, 1.0]
        assert sum(data["extra_logs"]["assay/code/unverifiable"]) == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# -- verl ------------------------------------------------------------------------------------


def test_verl_naive_reward_manager_calls(pipe):
    cs = pipe.as_verl()
    # NaiveRewardManager: keywords, the response decoded with its end-of-turn token,
    # extra_info from the parquet row (lists as numpy arrays), the task the user set kept.
    row = cs(
        data_source="openai/gsm8k",
        solution_str=MATH_OK + "<|im_end|>",
        ground_truth="42",
        extra_info={"split": "train", "index": 7, "task": "math", "tags": np.array(["a", "b"])},
    )
    assert row["score"] == 1.0 and row["math"] == 1.0
    assert row["assay/math/unverifiable"] == 0.0
    code = cs(
        data_source="codecontests",
        solution_str=CODE_OK + "<|endoftext|>",
        ground_truth=APPS_STDIO,  # JSON string, APPS/PRIME shape
        extra_info={"task": "code", "index": 3},
    )
    assert code["score"] == 1.0 and code["code"] == 1.0


def test_verl_batch_reward_manager_with_numpy_arrays(pipe):
    cs = pipe.as_verl()
    rows = cs(
        data_sources=np.array(["gsm8k", "taco", "apps", "gsm8k", "apps"], dtype=object),
        solution_strs=[
            MATH_OK + "<|im_end|>",
            CALL_OK + "<|im_end|>",
            CODE_OK + "<|im_end|>",
            MATH_OK,
            CODE_OK,
        ],
        ground_truths=[
            "42",
            TACO_CALL,  # TACO call-based: fn_name, outputs wrapped in lists
            APPS_STDIO,
            json.dumps({"answer": "\\frac{", "metadata": {"task": "math"}}),  # dict label as JSON
            json.dumps({"inputs": ["1"], "outputs": []}),  # broken tests
        ],
        extra_infos=np.array(
            [
                {"task": "math", "index": 0},
                {"task": "code", "index": 1},
                {"task": "code", "index": 2},
                {"task": "code", "index": 3},  # the label's task (math) wins over extra_info
                {"task": "code", "index": 4},
            ],
            dtype=object,
        ),
    )
    assert [r["score"] for r in rows] == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert [r["assay/math/unverifiable"] for r in rows] == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert [r["assay/code/unverifiable"] for r in rows] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert len({tuple(sorted(r)) for r in rows}) == 1  # the same keys for every sample


def test_verl_routes_on_data_source_when_asked_and_warns_when_routing_finds_nothing():
    by_source = {
        "route": {
            "by": "data_source",
            "routes": {"openai/gsm8k": {"use": "math"}, "codecontests": {"use": "code"}},
        }
    }
    with load_pipeline(by_source) as p:
        cs = p.as_verl()
        assert cs("openai/gsm8k", "\\boxed{42}<|im_end|>", "42", None)["score"] == 1.0
        assert cs("codecontests", CODE_OK, APPS_STDIO, None)["score"] == 1.0
        unknown = cs("other", "42", "42", None)
        assert unknown["score"] == 0.0
    with load_pipeline(SPEC) as p:
        cs = p.as_verl()
        with pytest.warns(RuntimeWarning, match=r"route: \{by: data_source\}"):
            cs("openai/gsm8k", "\\boxed{42}", "42", {"index": 0})


def test_non_ok_policies(pipe):
    queries, prompts, labels = openrlhf_batch()
    zero = pipe.as_openrlhf(non_ok="zero")
    assert zero.scores(queries, prompts, labels)[0] == [1.0, 1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="needs a number"):
        pipe.as_verl(non_ok="mask")
    (trl,) = pipe.as_trl(non_ok="mask")
    texts = [q[len(p) :] for q, p in zip(queries, prompts)]
    out = trl(prompts, [t.replace("<|endoftext|>", "") for t in texts], **_trl_columns(labels))
    assert out[4] is None  # the unverifiable sample is masked, TRL ignores it
    strict = pipe.as_verl(max_non_ok_rate=0.1)
    bad = [json.dumps({"answer": "\\frac{", "metadata": {"task": "math"}})] * 40
    with pytest.raises(NonOkRateExceeded, match="not scored ok"):
        strict(["gsm8k"] * 40, [MATH_OK] * 40, bad, None)


def _trl_columns(labels: list) -> dict:
    decoded = [lab if isinstance(lab, dict) else json.loads(lab) for lab in labels]
    return {
        "answer": [d.get("answer") for d in decoded],
        "tests": [d.get("tests") for d in decoded],
        "metadata": [d.get("metadata") for d in decoded],
    }


def test_trl_reports_non_ok_counts_through_log_metric_and_log_extra(pipe):
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    (fn,) = pipe.as_trl()
    completions = [MATH_OK, "<think>x</think><answer>3</answer>"]
    out = fn(
        ["q", "q"],
        completions,
        answer=["42", "\\frac{"],
        metadata=[{"task": "math"}, {"task": "math"}],
        log_metric=lambda k, v: metrics.__setitem__(k, v),
        log_extra=lambda k, v: extra.__setitem__(k, v),
        trainer_state=None,
    )
    assert out[0] == 1.0
    assert metrics["assay/math/unverifiable"] == 1.0 and metrics["assay/math/error"] == 0.0
    assert extra["assay_status"][0] == "ok"
    assert extra["assay_status"][1].startswith("unverifiable: math:")


def test_adapters_pickle_into_workers(pipe):
    import pickle

    # verl ships compute_score to Ray workers; the policy's lock and window are rebuilt there.
    cs = pickle.loads(pickle.dumps(pipe.as_verl(max_non_ok_rate=0.5)))
    assert cs("gsm8k", MATH_OK + "<|im_end|>", "42", {"task": "math"})["score"] == 1.0
    orl = pickle.loads(pickle.dumps(pipe.as_openrlhf(non_ok="zero")))
    queries, prompts, labels = openrlhf_batch()
    assert orl.scores(queries[:1], prompts[:1], labels[:1])[0] == [1.0]


LOAD_AS_TRAINERS_DO = """
import importlib.util, json, sys
import assay.entrypoints as e

def load(name):  # verl's get_custom_reward_fn / OpenRLHF's --remote_rm_url file loader
    spec = importlib.util.spec_from_file_location(name, e.__file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

verl = load("custom_module").verl_compute_score
row = verl(data_source="openai/gsm8k", solution_str=sys.argv[1] + "<|im_end|>",
           ground_truth="42", extra_info={"task": "math", "index": 0})
orl = load("reward_func_module").reward_func
out = orl([sys.argv[2]], [sys.argv[3]], [json.dumps({"answer": "42", "metadata": {"task": "math"}})])
bad = 0
try:
    for _ in range(40):
        verl("gsm8k", sys.argv[1], "\\\\frac{", {"task": "math"})
except Exception as exc:
    bad = type(exc).__name__
print(json.dumps({"verl": row["score"], "orl": out["rewards"].tolist(), "stopped": bad}))
"""


def test_entry_points_load_by_file_path_as_verl_and_openrlhf_do(tmp_path):
    import os

    spec = tmp_path / "rl.yaml"
    spec.write_text(json.dumps(SPEC))
    env = dict(os.environ, ASSAY_PIPELINE=str(spec), ASSAY_MAX_NON_OK_RATE="0.5")
    prompt = chatml_prompt("What is 6*7?")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AS_TRAINERS_DO,
            MATH_OK,
            prompt + MATH_OK + "<|im_end|>",
            prompt,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"verl": 1.0, "orl": [1.0], "stopped": "NonOkRateExceeded"}


def test_any_label_shape_scores_every_row_without_raising():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    keys = st.sampled_from(["answer", "tests", "metadata", "inputs", "outputs", "fn_name", "type"])
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=30,
    )

    with load_pipeline({"rewards": [{"use": "exact_match"}, {"use": "think_format"}]}) as p:
        orl, verl = p.as_openrlhf(), p.as_verl()

        @settings(max_examples=100, deadline=None)
        @given(
            st.lists(
                st.tuples(json_values, st.booleans(), st.text(max_size=20)), min_size=1, max_size=4
            )
        )
        def check(rows):
            labels = [json.dumps(x) if as_text else x for x, as_text, _ in rows]
            queries = ["p" + text + "<|im_end|>" for _, _, text in rows]
            rewards, _ = orl.scores(queries, ["p"] * len(rows), labels)
            assert len(rewards) == len(rows)
            assert len(verl(["ds"] * len(rows), queries, labels, None)) == len(rows)

        check()
