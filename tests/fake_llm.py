"""A small OpenAI-compatible server on 127.0.0.1 for tests: real HTTP, scripted behaviour.

    with FakeLLM(reply="Paris [1].") as llm:
        LLMClient(llm.base_url, "fake").complete(messages)  # -> "Paris [1]."
        llm.requests[-1]["messages"]                        # what the client sent

``mode`` is "ok", "error" (HTTP 500 with a JSON error body), "slow" (waits ``delay`` seconds before
answering, or after the first streamed piece), "garbage" (200 with a body that is not JSON) or "drip"
(streams a piece every ``delay`` seconds and never finishes).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MODES = ("ok", "error", "slow", "garbage", "drip")


class FakeLLM:
    """The server and what it saw; ``reply``, ``mode`` and ``delay`` may be changed between requests."""

    def __init__(self, reply: str = "The course opened on 30 January [1].", mode: str = "ok",
                 delay: float = 5.0) -> None:
        self.reply = reply
        self.mode = mode
        self.delay = delay  # a slow server waits this long, unless the server is shutting down
        self.requests: list[dict[str, Any]] = []  # JSON bodies received, in order
        self.headers: list[dict[str, str]] = []  # their headers, lower-cased names
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-llm", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stopping.set()  # wakes slow handlers so server_close can join them at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def pieces(self) -> list[str]:
        """The reply cut into several streamed deltas, split after spaces so they join back exactly."""
        return [piece for piece in re.split(r"(?<= )", self.reply) if piece]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins every handler: nothing outlives the ``with`` block
    fake: FakeLLM


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # streamed replies use chunked transfer encoding, as real servers do
    timeout = 5  # a client that opens a connection and says nothing cannot hold shutdown forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "tests"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        fake = self.server.fake
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        fake.requests.append(body)
        fake.headers.append({name.lower(): value for name, value in self.headers.items()})
        try:
            if self.path != "/v1/chat/completions":
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            elif fake.mode == "error":
                self._send_json(500, {"error": {"message": "the model crashed", "type": "server_error"}})
            elif body.get("stream"):
                self._stream(fake, body.get("model", ""))
            elif fake.mode == "slow" and fake.stopping.wait(fake.delay):
                self.close_connection = True  # shutting down: leave without answering
            elif fake.mode == "garbage":
                self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
            else:
                message = {"role": "assistant", "content": fake.reply}
                self._send_json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                                      "model": body.get("model", ""), "usage": {},
                                      "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (its timeout): nothing left to tell it

    def _stream(self, fake: FakeLLM, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, str], finish_reason: str | None = None) -> None:
            self._write_event(json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}))

        if fake.mode == "garbage":
            self._write_event("{not json")
        elif fake.mode == "drip":  # every read arrives in time; the answer never ends
            while not fake.stopping.wait(fake.delay):
                chunk({"content": "and more "})
            self.close_connection = True
            return
        else:
            chunk({"role": "assistant"})  # no content: a client must skip it
            self._write_chunk(b": keep-alive\n\n")
            for number, piece in enumerate(fake.pieces()):
                chunk({"content": piece})
                if number == 0 and fake.mode == "slow" and fake.stopping.wait(fake.delay):
                    self.close_connection = True
                    return
            chunk({}, finish_reason="stop")
            self._write_event("[DONE]")
        self._write_chunk(b"")  # the zero-length chunk that ends the body

    def _write_event(self, data: str) -> None:
        self._write_chunk(f"data: {data}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
