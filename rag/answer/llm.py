"""An OpenAI-compatible chat-completions client, standard library only.

Ollama, vLLM or a llama.cpp server work without the ``openai`` package; every failure becomes
one ``LLMError`` so the caller can fall back to the offline answer.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit

from ..errors import LLMError

log = logging.getLogger(__name__)

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
MAX_ANSWER_CHARS = 20_000  # far beyond a grounded answer; a server sending more is broken or hostile
DEADLINE_TIMEOUTS = 4  # a whole answer gets this many read timeouts, however steadily it streams
_READ = 65_536


class LLMClient:
    """A chat-completions client for any OpenAI-compatible server, e.g. ``http://127.0.0.1:11434/v1``.

    Every failure (refused, HTTP error, timeout, nonsense) is an ``LLMError`` naming the URL, so the
    caller can fall back to the offline answer with one ``except``.
    """

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout  # seconds to connect, and between any two reads of the response
        self.deadline = DEADLINE_TIMEOUTS * timeout  # seconds for a whole answer

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The whole answer at once."""
        started = time.monotonic()
        with self._errors(), self._open(messages, stream=False) as response:
            return self._capped(self._content(json.loads(self._body(response, started)), "message"))

    def stream(self, messages: Sequence[Mapping[str, str]]) -> Iterator[str]:
        """The answer's pieces as the server sends them (server-sent events, ending with ``[DONE]``)."""
        started, received = time.monotonic(), 0
        with self._errors(), self._open(messages, stream=True) as response:
            if response.headers.get_content_type() == "application/json":  # a server that ignored ``stream``
                yield self._capped(self._content(json.loads(self._body(response, started)), "message"))
                return
            finished = False
            for raw in response:
                self._in_time(started)
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue  # blank separators, ``: keep-alive`` comments, ``event:`` names
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return
                chunk = self._checked(json.loads(data))
                choices = chunk.get("choices")  # none: e.g. a final usage-only chunk
                choice = choices[0] if isinstance(choices, list) and choices else {}
                if not isinstance(choice, dict):
                    raise LLMError(f"The LLM at {self.url} sent a stream chunk without a proper choice.")
                finished = finished or bool(choice.get("finish_reason"))
                delta = choice.get("delta")
                content = delta.get("content") if isinstance(delta, dict) else None
                if content:
                    received += len(content)
                    if received > MAX_ANSWER_CHARS:
                        self._too_long()
                    yield content
            if not finished:
                raise LLMError(f"The LLM at {self.url} ended its stream before finishing the answer.")

    def _open(self, messages: Sequence[Mapping[str, str]], stream: bool) -> http.client.HTTPResponse:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LLMError(f"The LLM base URL {self.url!r} must start with http:// or https://.")
        body = {"model": self.model, "messages": list(map(dict, messages)), "temperature": 0, "stream": stream}
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        # A proxy from the environment cannot reach a server on this machine, so local URLs skip it.
        handlers = [urllib.request.ProxyHandler({})] if parts.hostname in _LOOPBACK else []
        log.debug("POST %s (%d messages, stream=%s)", self.url, len(messages), stream)
        response: http.client.HTTPResponse = urllib.request.build_opener(*handlers).open(request, timeout=self.timeout)
        return response

    def _in_time(self, started: float) -> None:
        if time.monotonic() - started > self.deadline:
            raise LLMError(f"The LLM at {self.url} did not finish its answer within {self.deadline:g} s.")

    def _body(self, response: http.client.HTTPResponse, started: float) -> bytes:
        """The whole response body, read against the deadline and the size cap."""
        parts, size = [], 0
        while part := response.read(_READ):
            self._in_time(started)
            size += len(part)
            if size > 8 * MAX_ANSWER_CHARS:  # room for JSON around the longest answer in 4-byte characters
                self._too_long()
            parts.append(part)
        return b"".join(parts)

    def _capped(self, answer: str) -> str:
        if len(answer) > MAX_ANSWER_CHARS:
            self._too_long()
        return answer

    def _too_long(self) -> NoReturn:
        raise LLMError(f"The LLM at {self.url} sent an answer longer than {MAX_ANSWER_CHARS:,} characters.")

    def _checked(self, reply: Any) -> dict[str, Any]:
        """A parsed reply that is an object and not an error report (some servers send those with 200)."""
        if not isinstance(reply, dict):
            raise LLMError(f"The LLM at {self.url} sent JSON that is not an object.")
        if reply.get("error"):
            error = reply["error"]
            detail = error.get("message", error) if isinstance(error, dict) else error
            raise LLMError(f"The LLM at {self.url} answered with an error: {str(detail)[:200]}")
        return reply

    def _content(self, reply: Any, key: str) -> str:
        """``choices[0][key]["content"]`` of a parsed reply, or an ``LLMError`` that says what was wrong."""
        choices = self._checked(reply).get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise LLMError(f"The LLM at {self.url} sent a response without choices.")
        message = choices[0].get(key)
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise LLMError(f"The LLM at {self.url} sent a choice without text content.")
        return content

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn whatever the network or the server did into one ``LLMError`` sentence naming the URL."""
        try:
            yield
        except urllib.error.HTTPError as error:
            raise LLMError(f"The LLM at {self.url} answered HTTP {error.code}: {_snippet(error)}") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise LLMError(f"The LLM at {self.url} did not answer within {self.timeout:g} s.") from error
            reason = getattr(error.reason, "strerror", None) or error.reason
            raise LLMError(f"Could not reach the LLM at {self.url}: {reason}.") from error
        except TimeoutError as error:
            raise LLMError(f"The LLM at {self.url} did not answer within {self.timeout:g} s.") from error
        except (OSError, http.client.HTTPException) as error:
            raise LLMError(f"The connection to the LLM at {self.url} failed: {error!r}.") from error
        except ValueError as error:  # JSON and UTF-8 decoding
            raise LLMError(f"The LLM at {self.url} sent a response that is not valid JSON.") from error


def _snippet(error: urllib.error.HTTPError, limit: int = 200) -> str:
    """The start of an error body on one line: servers put the useful reason there."""
    try:
        body = error.read(limit * 4).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        body = ""
    text = " ".join(body.split())
    return (text[:limit] + "...") if len(text) > limit else text or str(error.reason)
