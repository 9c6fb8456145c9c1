"""The request and response shapes trainers post to a reward server, mapped to Assay samples.

Each parser takes a decoded JSON body and returns a `Request`: the samples to score (plain
dicts, validated later by the pipeline, so a bad row becomes an ``error`` result for that row)
and a function that turns the scored rows back into the protocol's response. A body of the
wrong shape raises `BadRequest` (answered ``400``). Every parser is linear in the body size.

- OpenRLHF (``--remote_rm_url``): ``{"query": [...], "prompts": [...], "labels": [...]}`` ->
  ``{"rewards": [...], "scores": [...], "extra_logs": {component: [...],
  "assay/<component>/<status>": [...]}}``, samples read as `assay.openrlhf_adapter` reads them.
  OpenRLHF needs floats, so a reward of None is sent as ``0.0``; ``statuses`` and ``errors``
  say which rows those are.
- Assay: ``{"samples": [{...}, ...]}`` -> ``{"results": [Result, ...]}`` (full results).
- slime (``--rm-url``): ``{"prompt", "response", "label"}`` (or a list of them) ->
  ``{"reward", "rewards", "status", "error"?}`` (a list for a list); use ``--reward-key reward``.
- NeMo Gym (``/verify``): ``{"responses_create_params": {"input": ...}, "response": {"output":
  [...]}, ...task fields}`` -> the request plus ``reward`` (a float: ``0.0`` with
  ``mask_sample: true`` where no reward applies or scoring failed), ``reward_components``,
  ``status`` and ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: A scored row as the scoring workers return it: ``Result.model_dump(mode="json")``, or its
#: brief form (`assay.Results.brief`) where the request does not need details.
Row = dict[str, Any]


class BadRequest(ValueError):
    """The body does not have the shape the endpoint takes (answered ``400``)."""


@dataclass
class Request:
    """Samples to score and how to answer once they are scored."""

    samples: list[Any]
    respond: Callable[[list[Row]], Any]
    full: bool = False  # needs full results (details, provenance), not the brief form


def _list(body: dict[str, Any], *keys: str) -> list[Any] | None:
    for key in keys:
        if key in body and body[key] is not None:
            value = body[key]
            if not isinstance(value, list):
                raise BadRequest(f"`{key}` must be a list")
            return value
    return None


def _values(rows: list[Row]) -> dict[str, list[float | None]]:
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r["components"]))
    return {n: [_component_value(r, n) for r in rows] for n in names}


def _component_value(row: Row, name: str) -> float | None:
    comp = row["components"].get(name)
    return None if comp is None else comp.get("value")


def _rewards(row: Row) -> dict[str, float | None]:
    return {name: comp.get("value") for name, comp in row["components"].items()}


# -- OpenRLHF ---------------------------------------------------------------------------------


def openrlhf(body: dict[str, Any]) -> Request:
    """OpenRLHF's remote reward model request (``query`` / ``queries``, ``prompts``, ``labels``),
    read as `assay.openrlhf_adapter` reads it (the response split from the query, end tokens
    removed, a JSON label decoded into answer/tests/metadata)."""
    from ..adapter_policy import NON_OK_STATUSES, status_key
    from ..openrlhf_adapter import openrlhf_sample

    queries = _list(body, "query", "queries") or []
    prompts = _list(body, "prompts")
    labels = _list(body, "labels")
    if prompts is None:
        prompts = [""] * len(queries)
    if labels is None:
        labels = [None] * len(queries)
    if not len(queries) == len(prompts) == len(labels):
        raise BadRequest(
            "per-sample lists differ in length: "
            f"query={len(queries)}, prompts={len(prompts)}, labels={len(labels)}"
        )
    samples = [openrlhf_sample(q, p, label) for q, p, label in zip(queries, prompts, labels)]

    def respond(rows: list[Row]) -> dict[str, Any]:
        rewards = [0.0 if r["reward"] is None else r["reward"] for r in rows]
        values = _values(rows)
        logs: dict[str, list[float]] = {
            n: [0.0 if v is None else v for v in col] for n, col in values.items()
        }
        for name in values:  # OpenRLHF logs the mean: the rate of each non-ok status
            statuses = [r["components"].get(name, {}).get("status", "absent") for r in rows]
            for status in NON_OK_STATUSES:
                logs[status_key(name, status)] = [1.0 if s == status else 0.0 for s in statuses]
        return {
            "rewards": rewards,
            "scores": rewards,
            "extra_logs": logs,
            "statuses": [r["status"] for r in rows],
            "errors": [r["reason"] if r["status"] != "ok" else "" for r in rows],
        }

    return Request(samples, respond)


# -- Assay ------------------------------------------------------------------------------------


def assay(body: dict[str, Any]) -> Request:
    """Assay's own shape: ``{"samples": [...]}`` in, full results out.

    A sample without a ``completion`` has nothing to score: it gets an ``error`` result (as in
    ``assay score``), not the score of an empty completion."""
    samples = _list(body, "samples")
    if samples is None:
        raise BadRequest("expected {'samples': [{...}, ...]}")
    missing = {i for i, s in enumerate(samples) if isinstance(s, dict) and "completion" not in s}
    if not missing:
        return Request(samples, lambda rows: {"results": rows}, full=True)
    todo = [s for i, s in enumerate(samples) if i not in missing]

    def respond(rows: list[Row]) -> dict[str, Any]:
        scored = iter(rows)
        return {
            "results": [_MISSING if i in missing else next(scored) for i in range(len(samples))]
        }

    return Request(todo, respond, full=True)


_MISSING: Row = {
    "reward": None,
    "status": "error",
    "reason": "missing field: completion",
    "components": {},
}


# -- slime ------------------------------------------------------------------------------------


def _slime_sample(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest("expected {'prompt', 'response', 'label'} objects")
    if "response" not in item:
        raise BadRequest("missing field `response`")
    extra = {k: v for k, v in item.items() if k not in ("prompt", "response", "label")}
    prompt = item.get("prompt")
    return {
        **extra,
        "prompt": "" if prompt is None else prompt,
        "completion": item["response"],
        "answer": item.get("label"),
    }


def _slime_row(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reward": row["reward"],
        "rewards": _rewards(row),
        "status": row["status"],
    }
    if row["status"] != "ok":
        out["error"] = row["reason"]
    return out


def slime(body: Any) -> Request:
    """slime's remote reward request: one ``{prompt, response, label}`` object, or a list."""
    if isinstance(body, list):
        samples = [_slime_sample(item) for item in body]
        return Request(samples, lambda rows: [_slime_row(r) for r in rows])
    return Request([_slime_sample(body)], lambda rows: _slime_row(rows[0]))


# -- NeMo Gym ---------------------------------------------------------------------------------

_ANSWER_KEYS = ("expected_answer", "answer", "label", "ground_truth", "reference")


def _content_text(content: Any) -> str:
    """The text of a message's content: a string, or parts with a ``text`` field."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _nemo_prompt(params: Any) -> Any:
    if not isinstance(params, dict):
        raise BadRequest("`responses_create_params` must be an object")
    value = params.get("input")
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise BadRequest("`responses_create_params.input` must be a string or a list of messages")
    messages = []
    for m in value:
        if isinstance(m, dict) and isinstance(m.get("role"), str):
            messages.append({"role": m["role"], "content": _content_text(m.get("content"))})
    return messages


def _nemo_completion(response: Any) -> str:
    """The assistant's final text: the output text of the response's assistant messages."""
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise BadRequest("`response` must be an object with an `output` list")
    parts = [
        _content_text(item.get("content"))
        for item in response["output"]
        if isinstance(item, dict)
        and item.get("type", "message") == "message"
        and item.get("role", "assistant") == "assistant"
    ]
    return "\n".join(p for p in parts if p)


def nemo_gym(body: dict[str, Any]) -> Request:
    """NeMo Gym's ``/verify`` request: the task, the model's response, and task fields."""
    if "response" not in body:
        raise BadRequest("missing field `response`")
    sample: dict[str, Any] = {
        "prompt": _nemo_prompt(body.get("responses_create_params", {})),
        "completion": _nemo_completion(body["response"]),
        "answer": next((body[k] for k in _ANSWER_KEYS if body.get(k) is not None), None),
    }
    for key, value in body.items():
        if key not in ("responses_create_params", "response", *_ANSWER_KEYS, "prompt"):
            sample.setdefault(key, value)

    def respond(rows: list[Row]) -> dict[str, Any]:
        row = rows[0]
        applies = row["reward"] is not None and row["status"] == "ok"
        return {
            **body,
            "reward": row["reward"] if applies else 0.0,
            "mask_sample": not applies,
            "reward_components": {k: v for k, v in _rewards(row).items() if v is not None},
            "status": row["status"],
            "reason": row["reason"],
        }

    return Request([sample], respond)


def detect(body: Any) -> Callable[[Any], Request]:
    """The parser for a body posted to ``/``: NeMo Gym, slime, or OpenRLHF by its keys."""
    if isinstance(body, list) or (isinstance(body, dict) and "response" in body):
        if isinstance(body, dict) and "responses_create_params" in body:
            return nemo_gym
        return slime
    if isinstance(body, dict) and "samples" in body:
        return assay
    return openrlhf


PARSERS: dict[str, Callable[[Any], Request]] = {
    "openrlhf": openrlhf,
    "assay": assay,
    "slime": slime,
    "nemo_gym": nemo_gym,
}
