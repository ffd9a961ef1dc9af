"""Query and document embedding: bichat's ONNX MiniLM against sentence-transformers (torch),
same weights, same process.

    python benchmarks/embeddings.py

Prints, for each: one-question embedding p50/p95 on an idle interpreter, the same while
another Python thread keeps the GIL busy (what a server's event loop does to an embedding
running in a worker thread), and documents per second for ~100-token product texts in
batches of 16.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from app.embeddings import BATCH_SIZE, LocalEmbeddings
from app.minilm import weights_dir

QUESTIONS = [f"How many orders came from the web shop in week {n} of last year?" for n in range(80)]
PRODUCT = (
    "Insulated steel bottle {n}: keeps drinks cold for 24 hours and hot for 12, leak-proof "
    "lid, 750 ml, dishwasher safe, fits cup holders. Category: kitchen / drinkware. "
)
DOCUMENTS = [PRODUCT.format(n=n) * 2 for n in range(320)]


def timings_ms(embed: Callable[[str], object]) -> list[float]:
    for question in QUESTIONS[:10]:
        embed(question)
    times = []
    for question in QUESTIONS:
        started = time.perf_counter()
        embed(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def busy_python(stop: threading.Event) -> None:
    total = 0
    while not stop.is_set():
        for number in range(2_000):
            total += number


def contended_ms(embed: Callable[[str], object]) -> list[float]:
    stop = threading.Event()
    other = threading.Thread(target=busy_python, args=(stop,))
    other.start()
    try:
        return timings_ms(embed)
    finally:
        stop.set()
        other.join()


def documents_per_s(embed_batch: Callable[[list[str]], object]) -> float:
    started = time.perf_counter()
    for start in range(0, len(DOCUMENTS), BATCH_SIZE):
        embed_batch(DOCUMENTS[start : start + BATCH_SIZE])
    return len(DOCUMENTS) / (time.perf_counter() - started)


def p95(values: list[float]) -> float:
    return sorted(values)[round(0.95 * (len(values) - 1))]


def report(name: str, embed: Callable[[str], object], batch: Callable[[list[str]], object]) -> None:
    idle, busy = timings_ms(embed), contended_ms(embed)
    print(
        f"{name:22s} query p50 {statistics.median(idle):6.2f} ms  p95 {p95(idle):6.2f} ms | "
        f"GIL busy p50 {statistics.median(busy):7.2f} ms  p95 {p95(busy):7.2f} ms | "
        f"{documents_per_s(batch):5.0f} documents/s"
    )


def main() -> None:
    from sentence_transformers import SentenceTransformer

    ours = LocalEmbeddings()
    torch_model = SentenceTransformer(str(weights_dir()), device="cpu")

    def torch_batch(texts: list[str]) -> object:
        return torch_model.encode(texts, normalize_embeddings=True, show_progress_bar=False)

    report("bichat (ONNX Runtime)", ours.embed_query, ours.embed_documents)
    report("sentence-transformers", lambda q: torch_batch([q]), torch_batch)


if __name__ == "__main__":
    main()
