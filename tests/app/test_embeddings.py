"""Embeddings: the bundled MiniLM offline, and OpenAI's wire format against a local server."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.config import load_settings
from app.embeddings import LOCAL_MODEL, LocalEmbeddings, build_embeddings, model_name
from app.errors import ConfigError


def test_local_vectors_are_normalised_384_and_meaningful():
    embedder = LocalEmbeddings()
    mug, flask, tent = embedder.embed_documents(
        ["insulated travel mug for coffee", "vacuum flask keeps tea hot", "two-person dome tent"]
    )
    assert len(mug) == 384 and abs(math.sqrt(sum(x * x for x in mug)) - 1) < 1e-4
    cosine = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert cosine(mug, flask) > cosine(mug, tent) + 0.1
    assert model_name(embedder) == LOCAL_MODEL


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers POST /v1/embeddings like OpenAI does, and remembers what it was sent."""

    received: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.received.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.5] * body.get("dimensions", 1536)}
            for i, _ in enumerate(inputs)
        ]
        payload = json.dumps(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
    FakeOpenAI.received = []
    yield FakeOpenAI.received
    server.shutdown()


def test_openai_embeddings_ask_for_384_dimensions(openai_server, tmp_path):
    settings = load_settings(
        embeddings="openai:text-embedding-3-small", openai_api_key="sk-test", data_dir=tmp_path
    )
    embedder = build_embeddings(settings)
    vector = embedder.embed_query("warm jacket")
    assert len(vector) == 384
    request = openai_server[0]
    assert request["path"] == "/v1/embeddings" and request["auth"] == "Bearer sk-test"
    assert (request["model"], request["dimensions"]) == ("text-embedding-3-small", 384)
    assert model_name(embedder) == "openai:text-embedding-3-small"


def test_openai_embeddings_need_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = load_settings(embeddings="openai:text-embedding-3-small", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_embeddings(settings)
