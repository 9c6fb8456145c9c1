"""A small HTTP endpoint over a pipeline, in the shape OpenRLHF's ``--remote_rm_url`` posts.

``POST /`` (or ``/get_reward``) with ``{"query": [...], "prompts": [...], "labels": [...]}``
returns ``{"rewards": [...], "scores": [...], "extra_logs": {component: [...]}}``.
``POST /score`` with ``{"samples": [{...}, ...]}`` returns full results per sample.
Standard library only; one pipeline per server; requests are scored on the handler thread.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .adapters import OpenRLHFRewardFunc
from .pipeline import Pipeline

MAX_BODY = 64 * 1024 * 1024


def make_handler(pipeline: Pipeline) -> type[BaseHTTPRequestHandler]:
    openrlhf = OpenRLHFRewardFunc(pipeline)

    class Handler(BaseHTTPRequestHandler):
        server_version = "assay"

        def _send(self, code: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            self._send(200, {"pipeline": pipeline.name, "components": pipeline.component_names})

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            try:
                n = int(self.headers.get("Content-Length") or 0)
                if n > MAX_BODY:
                    return self._send(413, {"error": f"body over {MAX_BODY} bytes"})
                data = json.loads(self.rfile.read(n) or b"{}")
                if not isinstance(data, dict):
                    return self._send(400, {"error": "expected a JSON object"})
                if self.path.rstrip("/") == "/score":
                    results = pipeline.score(data.get("samples") or [])
                    return self._send(200, {"results": [r.model_dump() for r in results]})
                queries = data.get("query") or data.get("queries") or []
                prompts = data.get("prompts") or [""] * len(queries)
                rewards, logs = openrlhf.scores(queries, prompts, data.get("labels"))
                self._send(200, {"rewards": rewards, "scores": rewards, "extra_logs": logs})
            except (ValueError, TypeError, KeyError) as exc:
                self._send(400, {"error": f"{type(exc).__name__}: {exc}"})

        def log_message(self, format: str, *args: Any) -> None:  # quiet by default
            pass

    return Handler


def serve(pipeline: Pipeline, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = ThreadingHTTPServer((host, port), make_handler(pipeline))
    print(f"assay: serving {pipeline.name} on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        pipeline.close()
