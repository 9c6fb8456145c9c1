"""The anchor for bench/scale.py: ``assay serve`` as it was before the ASGI server (a copy).

A small HTTP endpoint over a pipeline, in the shape OpenRLHF's ``--remote_rm_url`` posts.

``POST /`` (or ``/get_reward``) with ``{"query": [...], "prompts": [...], "labels": [...]}``
returns ``{"rewards": [...], "scores": [...], "extra_logs": {component: [...]}}``.
``POST /score`` with ``{"samples": [{...}, ...]}`` returns full results per sample.
Standard library only; one pipeline per server; requests are scored on the handler thread.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assay import Pipeline
from assay.adapters import OpenRLHFRewardFunc

MAX_BODY = 64 * 1024 * 1024


def make_handler(pipeline: Pipeline) -> type[BaseHTTPRequestHandler]:
    openrlhf = OpenRLHFRewardFunc(pipeline)

    class Handler(BaseHTTPRequestHandler):
        server_version = "assay"

        def _send(self, code: int, payload: Any) -> None:
            body = json.dumps(payload, default=str).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # http.server API
            self._send(200, {"pipeline": pipeline.name, "components": pipeline.component_names})

        def do_POST(self) -> None:  # http.server API
            try:
                n = int(self.headers.get("Content-Length") or 0)
                if n < 0:
                    return self._send(400, {"error": "negative Content-Length"})
                if n > MAX_BODY:
                    return self._send(413, {"error": f"body over {MAX_BODY} bytes"})
                data = json.loads(self.rfile.read(n) or b"{}")
                if not isinstance(data, dict):
                    return self._send(400, {"error": "expected a JSON object"})
                if self.path.rstrip("/") == "/score":
                    samples = data.get("samples") or []
                    if not isinstance(samples, list):
                        return self._send(400, {"error": "`samples` must be a list of objects"})
                    results = pipeline.score(samples)
                    return self._send(200, {"results": [r.model_dump() for r in results]})
                queries = data.get("query") or data.get("queries") or []
                prompts = data.get("prompts") or [""] * _len(queries)
                labels = data.get("labels")
                for key, value in (("query", queries), ("prompts", prompts), ("labels", labels)):
                    if value is not None and not isinstance(value, list):
                        return self._send(400, {"error": f"`{key}` must be a list"})
                rewards, logs = openrlhf.scores(queries, prompts, labels)
                self._send(200, {"rewards": rewards, "scores": rewards, "extra_logs": logs})
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                self._send(400, {"error": f"{type(exc).__name__}: {str(exc)[:500]}"})
            except Exception as exc:  # noqa: BLE001 - never leave the client without an answer
                self._send(500, {"error": f"{type(exc).__name__}: {str(exc)[:500]}"})

        def log_message(self, format: str, *args: Any) -> None:  # quiet by default
            pass

    return Handler


def _len(x: Any) -> int:
    return len(x) if isinstance(x, list) else 0


def serve(pipeline: Pipeline, host: str = "127.0.0.1", port: int = 8000) -> None:
    try:
        server = ThreadingHTTPServer((host, port), make_handler(pipeline))
    except BaseException:  # port in use, bad host: nothing will serve, release the pipeline
        pipeline.close()
        raise
    print(f"assay: serving {pipeline.name} on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        pipeline.close()
