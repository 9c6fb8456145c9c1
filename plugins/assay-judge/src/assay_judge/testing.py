"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol and answers
from a script: for tests and benchmarks where no model can be served (no GPU).

    def script(body):                       # the parsed request JSON
        return '{"reasoning": "ok", "score": 4}'   # a chat completion with this content

    with ScriptedChatServer(script, latency=0.05) as server:
        judge = JudgeReward(base_url=server.url, model="m", rubric={"likert": 5})

A script may return a `Reply` instead (any status, raw body, headers such as ``Retry-After``,
extra delay). The server counts requests, records the bodies, and tracks the most requests it
had in flight at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server answers: ``content`` wrapped as a chat completion, or ``body`` verbatim."""

    content: str | None = None
    status: int = 200
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Script = Callable[[dict[str, Any]], "Reply | str"]

_RESPONSE = re.compile(r"<response>\n(.*?)\n</response>", re.DOTALL)
_RESPONSE_1 = re.compile(r"<response_1>\n(.*?)\n</response_1>", re.DOTALL)


def graded_text(body: dict[str, Any]) -> str:
    """The response under judgement in a grading request (what the default template wraps)."""
    m = _RESPONSE.search(body["messages"][-1]["content"])
    return m.group(1) if m else ""


def first_response(body: dict[str, Any]) -> str:
    """Response 1 of a pairwise request."""
    m = _RESPONSE_1.search(body["messages"][-1]["content"])
    return m.group(1) if m else ""


def chat_completion(content: str, model: str = "scripted") -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class ScriptedChatServer:
    """``POST /v1/chat/completions`` answered by ``script``; start/stop or use as a context manager."""

    def __init__(self, script: Script, latency: float = 0.0, host: str = "127.0.0.1") -> None:
        self.script = script
        self.latency = latency
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict[str, Any]] = []
        self.authorization: list[str | None] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                server._enter()
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length)
                    reply = server._reply(self.path, raw, self.headers.get("Authorization"))
                    time.sleep(server.latency + reply.delay)
                    if reply.body is not None:
                        payload = reply.body.encode()
                    else:
                        payload = json.dumps(chat_completion(reply.content or "")).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    server._leave()

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up (a deadline passed): nothing to report

        self._httpd = Server((host, 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def _enter(self) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _reply(self, path: str, raw: bytes, auth: str | None = None) -> Reply:
        if not path.rstrip("/").endswith("/chat/completions"):
            return Reply(status=404, body='{"error": {"message": "not found"}}')
        try:
            body = json.loads(raw)
        except ValueError:
            return Reply(status=400, body='{"error": {"message": "body is not JSON"}}')
        with self._lock:  # a body and its Authorization header at the same index
            self.bodies.append(body)
            self.authorization.append(auth)
        out = self.script(body)
        return Reply(content=out) if isinstance(out, str) else out

    def reset(self) -> None:
        with self._lock:
            self.requests = self.max_in_flight = 0
            self.bodies.clear()
            self.authorization.clear()

    def start(self) -> ScriptedChatServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="scripted-chat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedChatServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
