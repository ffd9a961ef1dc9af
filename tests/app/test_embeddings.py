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
from app.minilm import load_minilm, onnx_path, weights_dir


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


def test_onnx_vectors_equal_sentence_transformers():
    """The ONNX graph gives sentence-transformers' vectors: same truncation (256 tokens),
    padding that does not leak into a shorter text of the batch, same pooling."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(weights_dir()), device="cpu")
    texts = [
        "",
        "mug",
        "Wie viele Bestellungen kamen über den Webshop? 注文数は?",
        "insulated travel mug for coffee, 350 ml, stainless steel " * 60,  # > 256 tokens
        "SKU-00042 <img src=x onerror=alert(1)>",
    ]
    expected = reference.encode(texts, normalize_embeddings=True, batch_size=len(texts))
    together = LocalEmbeddings().embed_documents(texts)
    alone = [LocalEmbeddings().embed_query(text) for text in texts]
    for want, batched, single in zip(expected, together, alone, strict=True):
        assert max(abs(a - b) for a, b in zip(want, batched, strict=True)) < 1e-5
        assert max(abs(a - b) for a, b in zip(want, single, strict=True)) < 1e-5


def test_a_damaged_cached_graph_is_exported_again_quietly(tmp_path, monkeypatch, capfd):
    """And the export draws no bar of its own: transformers' "Loading weights" progress bar
    appeared in the middle of `bichat serve`'s output."""
    from transformers.utils import logging as transformers_logging

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = onnx_path()
    assert target.parent == tmp_path / "bichat"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half a file")
    load_minilm.cache_clear()
    try:
        vector = load_minilm().embed(["mug"])[0]
    finally:
        load_minilm.cache_clear()
    assert target.stat().st_size > 80_000_000
    assert abs(float((vector**2).sum()) - 1) < 1e-5
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no partial files left
    printed = capfd.readouterr()
    assert "Loading weights" not in printed.err + printed.out
    assert transformers_logging.is_progress_bar_enabled()  # others' bars are left as they were
