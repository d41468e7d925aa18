"""Publishing and dense search at a size larger than the benchmark corpus, per store.

    python bench/store_scale.py [-n 100000] [--store faiss|milvus] [--milvus URI]

Makes ``n`` synthetic chunks (random 384-d unit vectors, three sentence vectors each,
one document per three chunks, all dated), then for FAISS builds the approximate index
a version of that size gets, or for Milvus publishes a whole version (default: a Milvus
Lite file in a temporary folder); then times 50 dense searches for 100 candidates with a
period filter, and prints the time, the search p50 and the process's memory growth.
The README's sizing table extrapolates from these figures.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

import numpy as np

from retrieval.ingest.chunking import Chunk
from retrieval.store.ann import ANN_TYPE, search_ann
from retrieval.store.base import DocInfo, Manifest
from retrieval.store.faiss import make_faiss_index

DAY = 737426  # 2020-01-02, the synthetic documents' date


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--store", choices=("faiss", "milvus"), default="faiss")
    parser.add_argument("--milvus", help="Milvus URI (default: a Milvus Lite file)")
    args = parser.parse_args()
    logging.getLogger("pymilvus").setLevel(logging.ERROR)

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text = "The council voted on Tuesday to repaint the old lighthouse in violet. " * 7
    spans = ((0, 150), (151, 300), (301, len(text)))
    chunks = [Chunk(f"c{i}", f"d{i // 3}", text, 0, len(text), 150, spans) for i in range(args.n)]
    docs = [
        DocInfo(f"d{i}", "Title", "2020-01-02", ("https://example.org",), "p", "jsonl",
                None, (), (), "h")
        for i in range((args.n + 2) // 3)
    ]  # fmt: skip
    sentences = np.repeat(vectors, 3, axis=0)
    queries = vectors[rng.integers(0, args.n, 50)]
    base = rss_mb()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.store == "milvus":
            from retrieval.store.milvus import MilvusStore

            manifest = Manifest("synthetic", 384, "cl100k_base", 180, 40, "synthetic",
                                len(docs), args.n, 0, ANN_TYPE, "now")  # fmt: skip
            store = MilvusStore(args.milvus or f"milvus-lite:{tmp}/scale.db")
            started = time.perf_counter()
            with store.write_lock():
                store.publish(manifest, vectors, sentences, chunks, docs)
            built = time.perf_counter() - started
            index = store.load()
            for q in queries:
                started = time.perf_counter()
                index.dense_search(q, 100, since=DAY - 1)
                times.append(time.perf_counter() - started)
        else:
            started = time.perf_counter()
            faiss_index = make_faiss_index(vectors, ANN_TYPE)
            built = time.perf_counter() - started
            allowed = np.ones(args.n, dtype=bool)
            for q in queries:
                started = time.perf_counter()
                search_ann(faiss_index, vectors, q[None, :], 100, allowed)
                times.append(time.perf_counter() - started)
        print(
            f"{args.store}, {args.n} chunks: build/publish {built:.1f}s, dense search p50 "
            f"{np.percentile(times, 50) * 1e3:.1f} ms, memory +{rss_mb() - base:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
