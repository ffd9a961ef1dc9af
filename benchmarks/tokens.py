"""Exact OpenAI token counts without a download from OpenAI: the o200k_base encoding as
shipped by the npm package ``tiktoken`` (encoders/o200k_base.json), loaded into Python's
tiktoken. The file is fetched once with ``npm pack`` and kept in ~/.cache/bichat/."""

from __future__ import annotations

import base64
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import tiktoken

CACHE = Path.home() / ".cache" / "bichat" / "o200k_base.json"
NPM_PACKAGE = "tiktoken@1.0.22"


def fetch_encoder() -> Path:
    if CACHE.exists():
        return CACHE
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["npm", "pack", NPM_PACKAGE, "--silent"], cwd=folder, check=True, capture_output=True
        )
        archive = next(Path(folder).glob("tiktoken-*.tgz"))
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/encoders/o200k_base.json")
            assert member is not None
            CACHE.write_bytes(member.read())
    return CACHE


def o200k_base() -> tiktoken.Encoding:
    data = json.loads(fetch_encoder().read_text())
    ranks: dict[bytes, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if not line:
            continue
        _, offset, *tokens = line.split(" ")
        for index, token in enumerate(tokens):
            ranks[base64.b64decode(token)] = int(offset) + index
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=data["pat_str"],
        mergeable_ranks=ranks,
        special_tokens=data["special_tokens"],
    )
