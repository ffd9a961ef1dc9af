"""A small OpenAI-compatible HTTP server for tests: ``/v1/chat/completions`` streamed as SSE
(text deltas, tool-call deltas, then a usage chunk) or as one JSON body, with scripted
failures (HTTP status codes, slow answers); ``/v1/audio/transcriptions`` (a multipart upload,
answered ``{"text": ...}`` from ``transcripts``). It records every request it receives.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import io
import json
import threading
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: text, tool calls (name, args), usage, or a failure."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    prompt_tokens: int = 100
    completion_tokens: int = 10
    cached_tokens: int = 0
    model: str = "gpt-4.1-mini-2025-04-14"
    status: int = 200
    delay_s: float = 0.0
    token_delay_s: float = 0.0  # between streamed chunks: an answer that streams slowly


@dataclass
class Transcript:
    """One scripted speech-to-text answer: the words heard, or a failure."""

    text: str = ""
    status: int = 200


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


class OpenAIServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.transcripts: list[Transcript] = []  # without one left: a 500
        self.received: list[Received] = []
        # when the script has no reply left: the reply chosen from the request's body (its
        # messages); without one such a request gets a 500
        self.replier: Callable[[dict[str, Any]], Reply] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.pop(0)
        if self.replier is not None:
            return self.replier(body)
        return Reply(status=500, text="the test script has no more replies")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.endswith("/audio/transcriptions"):
                    self.transcribe(headers, raw)
                    return
                body = json.loads(raw or b"{}")
                server.received.append(Received(self.path, headers, body))
                reply = server.next_reply(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self.send_json(reply.status, error_body(reply))
                elif body.get("stream"):
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.send_stream(body, reply)  # the caller may go (killed, cancelled)
                else:
                    self.send_json(200, completion_body(reply))

            def transcribe(self, headers: dict[str, str], raw: bytes) -> None:
                form = multipart_form(headers.get("content-type", ""), raw)
                server.received.append(Received(self.path, headers, form))
                with server._lock:
                    heard = server.transcripts.pop(0) if server.transcripts else Transcript("", 500)
                if heard.status != 200:
                    self.send_json(heard.status, error_body(Reply(status=heard.status)))
                else:
                    self.send_json(200, {"text": heard.text})

            def send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def send_stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                include_usage = (body.get("stream_options") or {}).get("include_usage")
                for index, chunk in enumerate(
                    stream_chunks(reply, include_usage=bool(include_usage))
                ):
                    if index and reply.token_delay_s:
                        time.sleep(reply.token_delay_s)
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def multipart_form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart upload's fields; a file as its name, type, size and (a WAV) its length."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            form[str(name)] = data.decode()
            continue
        form[str(name)] = {
            "filename": filename,
            "content_type": part.get_content_type(),
            "bytes": len(data),
            "wav_ms": wav_ms(data),
        }
    return form


def wav_ms(data: bytes) -> int | None:
    try:
        with wave.open(io.BytesIO(data)) as file:
            return file.getnframes() * 1000 // file.getframerate()
    except (wave.Error, EOFError):
        return None


def usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def error_body(reply: Reply) -> dict[str, Any]:
    kinds = {429: "rate_limit_exceeded", 401: "invalid_api_key"}
    return {
        "error": {
            "message": reply.text or f"scripted failure {reply.status}",
            "type": kinds.get(reply.status, "server_error"),
            "code": kinds.get(reply.status),
        }
    }


def tool_call_list(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:16]}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for name, args in reply.tool_calls
    ]


def envelope(reply: Reply, **fields: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": reply.model,
        **fields,
    }


def stream_chunks(reply: Reply, *, include_usage: bool) -> list[dict[str, Any]]:
    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return envelope(reply, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])

    chunks = [choice({"role": "assistant", "content": ""})]
    chunks += [choice({"content": word + " "}) for word in reply.text.split(" ")[:-1]]
    if reply.text:
        chunks.append(choice({"content": reply.text.split(" ")[-1]}))
    for index, call in enumerate(tool_call_list(reply)):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        first = {"index": index, "id": call["id"], "type": "function"}
        first["function"] = {"name": call["function"]["name"], "arguments": arguments[:half]}
        chunks.append(choice({"tool_calls": [first]}))
        chunks.append(
            choice({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
        )
    chunks.append(choice({}, "tool_calls" if reply.tool_calls else "stop"))
    if include_usage:
        chunks.append(envelope(reply, choices=[], usage=usage(reply)))
    return chunks


def completion_body(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = tool_call_list(reply)
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": usage(reply),
    }
