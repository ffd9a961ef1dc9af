"""Text embeddings: all-MiniLM-L6-v2 on the CPU (default, no network) or OpenAI at 384 dims.

The model name is stored with every vector; vectors of another model are never compared
with a query (``bichat db embed`` re-embeds instead).
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from app.config import Settings
from app.errors import ConfigError
from app.minilm import load_minilm
from db.models.business import EMBEDDING_DIMENSIONS
from db.vectors import model_name, vector_literal

__all__ = [
    "LocalEmbeddings",
    "OpenAIEmbeddings384",
    "build_embeddings",
    "model_name",
    "vector_literal",
]

LOCAL_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 16  # product texts per inference call; larger batches were no faster on 2 cores


class LocalEmbeddings(Embeddings):
    """MiniLM on ONNX Runtime (``app.minilm``), L2-normalised (cosine distance is
    1 - dot product)."""

    model_name = LOCAL_MODEL

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        model = load_minilm()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors.extend(model.embed(texts[start : start + BATCH_SIZE]).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class OpenAIEmbeddings384(Embeddings):
    """OpenAI embeddings requested at 384 dimensions, so they fit the same column."""

    def __init__(self, *, model: str, api_key: str) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.model_name = f"openai:{model}"
        # check_embedding_ctx_length would tokenise with tiktoken, which downloads its
        # encodings on first use; product texts are far below the model's context anyway.
        self._inner = OpenAIEmbeddings(
            model=model,
            dimensions=EMBEDDING_DIMENSIONS,
            openai_api_key=api_key,
            check_embedding_ctx_length=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


def build_embeddings(settings: Settings) -> Embeddings:
    """The embedder the settings ask for; its ``model_name`` is what vectors are tagged with."""
    if settings.embeddings == "local":
        return LocalEmbeddings()
    if not settings.openai_api_key:
        raise ConfigError(
            f"BICHAT_EMBEDDINGS={settings.embeddings} needs OPENAI_API_KEY; or use 'local'"
        )
    model = settings.embeddings.split(":", 1)[1]
    return OpenAIEmbeddings384(model=model, api_key=settings.openai_api_key.get_secret_value())
