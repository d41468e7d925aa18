"""Indexing throughput on the benchmark corpus (SQuAD + RealTimeQA articles).

    python bench/indexing.py [--shared ../shared] [--limit N] [--json]

Builds a full index of both corpora (linked into a temporary folder; nothing is written
to the repository) with the model already loaded, then times ``model.encode`` alone on
the very texts the build embedded, with the same batch size. Reports end-to-end chunks/s
against that raw throughput (target: at least 80%), peak memory, and how many chunks
overflow the model's word-piece window at several chunk sizes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sentence_transformers import SentenceTransformer

from retrieval.encoder.sbert import SbertEncoder
from retrieval.index.build import build_index
from retrieval.ingest.chunking import chunk_document, embedding_text
from retrieval.ingest.documents import Document, load_corpus
from retrieval.ingest.tokenizer import load_encoding
from retrieval.settings import Settings
from retrieval.store.faiss import load_index

REPO = Path(__file__).resolve().parents[1]
CORPORA = ("squad", "rtqa")
SIZES = ((180, 40), (150, 40), (200, 40), (256, 40))  # the default first


def make_corpus(shared: Path, folder: Path, limit: int | None) -> Path:
    """Link (or, with ``limit``, cut) the benchmark corpora into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in CORPORA:
        source = shared / "data" / "eval" / name / "corpus.jsonl"
        if not source.is_file():
            raise SystemExit(f"{source} is missing: the shared data must sit beside the repo")
        target = folder / f"{name}.jsonl"
        if limit is None:
            target.symlink_to(source.resolve())
        else:
            with open(source, encoding="utf-8") as f:
                target.write_text("".join(itertools.islice(f, limit)), encoding="utf-8")
    return folder


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def truncation(
    docs: list[Document], model: SentenceTransformer, size: int, overlap: int
) -> dict[str, float]:
    """Share of chunks whose embedded text (title line included) exceeds the model window."""
    enc = load_encoding(None)
    titles = {d.doc_id: d.title for d in docs}
    texts = [
        embedding_text(titles[c.doc_id], c.text)
        for d in docs
        for c in chunk_document(d, enc, size, overlap)
    ]
    lengths = [len(ids) for ids in model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
    window = model.max_seq_length
    if window is None:
        raise SystemExit("the model does not report its window (max_seq_length)")
    over = sum(1 for n in lengths if n > window)
    return {
        "chunk_tokens": size,
        "chunk_overlap": overlap,
        "chunks": len(texts),
        "mean_wordpieces": round(sum(lengths) / len(lengths), 1),
        "max_wordpieces": max(lengths),
        "truncated": over,
        "truncated_share": round(over / len(texts), 4),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    p.add_argument("--limit", type=int, help="only the first N documents of each corpus")
    p.add_argument("--batch-size", type=int, default=Settings().batch_size)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    started = time.perf_counter()
    encoder = SbertEncoder.load(Settings().model)
    model = encoder.st_model  # raw model.encode is the yardstick
    model_seconds = time.perf_counter() - started
    results: dict[str, object] = {"model_load_seconds": round(model_seconds, 2)}
    with tempfile.TemporaryDirectory(prefix="newsqa-bench-") as tmp:
        corpus = make_corpus(args.shared, Path(tmp) / "corpus", args.limit)
        settings = replace(Settings(), corpus_dir=corpus, index_dir=Path(tmp) / "index",
                           batch_size=args.batch_size)  # fmt: skip
        model.encode(["warm up"] * args.batch_size, batch_size=args.batch_size)

        report = build_index(settings, encoder=encoder, full=True)
        rss_after_build = peak_rss_mb()
        index = load_index(settings.index_dir)
        texts = [embedding_text(index.docs[c.doc_id].title, c.text) for c in index.chunks]

        t = time.perf_counter()
        model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True,
                     normalize_embeddings=True)  # fmt: skip
        raw_seconds = time.perf_counter() - t

        docs = list(load_corpus(corpus).documents)
        sizes = [truncation(docs, model, size, overlap) for size, overlap in SIZES]

    end_to_end = report.chunks / report.seconds
    raw = len(texts) / raw_seconds
    results.update(
        documents=report.documents,
        chunks=report.chunks,
        batch_size=args.batch_size,
        build_seconds=round(report.seconds, 2),
        embed_seconds=round(report.embed_seconds, 2),
        end_to_end_chunks_per_second=round(end_to_end, 1),
        raw_encode_seconds=round(raw_seconds, 2),
        raw_encode_chunks_per_second=round(raw, 1),
        end_to_end_over_raw=round(end_to_end / raw, 3),
        peak_rss_mb_after_build=round(rss_after_build),
        peak_rss_mb=round(peak_rss_mb()),
        model_window=model.max_seq_length,
        truncation=sizes,
    )
    if args.json:
        print(json.dumps(results))
        return
    print(f"corpus: {report.documents} documents, {report.chunks} chunks "
          f"(chunk {settings.chunk_tokens}/{settings.chunk_overlap} tiktoken tokens)")  # fmt: skip
    print(f"model load: {model_seconds:.1f}s")
    print(f"full build: {report.seconds:.1f}s (embedding {report.embed_seconds:.1f}s), "
          f"{end_to_end:.1f} chunks/s end to end")  # fmt: skip
    print(f"model.encode alone, batch {args.batch_size}: {raw_seconds:.1f}s, {raw:.1f} chunks/s")
    verdict = "meets" if end_to_end >= 0.8 * raw else "misses"
    print(f"end to end / raw: {end_to_end / raw:.1%} ({verdict} the 80% target)")
    print(f"peak memory: {rss_after_build:.0f} MB after the build, {peak_rss_mb():.0f} MB in all")
    print(f"chunks over the model's {model.max_seq_length} word-piece window:")
    for s in sizes:
        print(f"  {s['chunk_tokens']:>3}/{s['chunk_overlap']}: {s['truncated']:>5} of "
              f"{s['chunks']:>5} ({s['truncated_share']:.1%}); word pieces mean "
              f"{s['mean_wordpieces']}, max {s['max_wordpieces']}")  # fmt: skip


if __name__ == "__main__":
    main()
