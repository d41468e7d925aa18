"""Answer quality and latency on both benchmarks, against two baselines, in one run.

    python bench/answers.py [--index DIR] [--limit N] [--json]

Builds (or updates) one index over `../shared/data/eval/{squad,rtqa}/corpus.jsonl`, then
answers every dev question of both sets with the engine and with two baselines:
  bm25-overlap  BM25 top passage, the sentence sharing most question terms
  dense-cosine  dense top passage, the sentence most similar to the question
Questions are answered as of their `date` field when they have one (rtqa), which only the
engine uses. Prints the metrics table of `python -m retrieval eval` for each system.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.answer.engine import Answer, Passage, Source
from retrieval.answer.evaluate import (
    Question,
    format_table,
    metrics,
    read_questions,
    run_questions,
)
from retrieval.answer.qa import QA
from retrieval.dates import asked_on, parse_day
from retrieval.index.build import build_index
from retrieval.search.retriever import Retriever
from retrieval.settings import load_settings
from retrieval.store.faiss import search_vectors

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "data" / "eval"
SETS = ("rtqa", "squad")


def ensure_index(index_dir: Path) -> None:
    """Index both benchmark corpora (incremental: quick when nothing changed)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        for name in SETS:
            (corpus / f"{name}.jsonl").symlink_to(EVAL / name / "corpus.jsonl")
        settings = replace(load_settings(env_file=None), corpus_dir=corpus, index_dir=index_dir)
        report = build_index(settings, progress=True)
        print(
            f"index: {report.documents} documents, {report.chunks} chunks, "
            f"{report.chunks_embedded} embedded in {report.seconds:.0f}s",
            file=sys.stderr,
        )


def _baseline_answer(r: Retriever, q: Question, order: list[int], pick: str,
                     qvec: np.ndarray | None) -> Answer:  # fmt: skip
    """The best sentence of the top passage by term overlap or by cosine."""
    index = r.index
    passages = tuple(
        Passage(index.chunks[p].doc_id, index.chunks[p].chunk_id, 0.0) for p in order[:10]
    )
    if not order:
        return Answer(q.question, None, (), 0.0, True, passages)
    top = order[0]
    chunk = index.chunks[top]
    if pick == "overlap":
        q_terms = set(r.lexical.terms(q.question))
        scores = [len(q_terms & set(r.lexical.terms(chunk.text[a:b]))) for a, b in chunk.sentences]
    else:
        assert qvec is not None
        scores = list(index.sentence_vectors[list(index.sentence_rows(top))] @ qvec)
    a, b = chunk.sentences[int(np.argmax(scores))]
    doc = index.docs[chunk.doc_id]
    source = Source(doc.doc_id, doc.title, doc.date, doc.url)
    return Answer(q.question, chunk.text[a:b], (source,), 1.0, False, passages)


def bm25_baseline(r: Retriever):  # type: ignore[no-untyped-def]
    def answer(q: Question) -> Answer:
        scores = r.lexical.scores(q.question)
        order = [int(i) for i in np.argsort(-scores)[:10] if scores[i] > 0]
        return _baseline_answer(r, q, order, "overlap", None)

    return answer


def dense_baseline(r: Retriever):  # type: ignore[no-untyped-def]
    def answer(q: Question) -> Answer:
        qvec = r.embed_question(q.question)
        order = [i for i, _ in search_vectors(r.index, qvec[None, :], 10)[0]]
        return _baseline_answer(r, q, order, "cosine", qvec)

    return answer


def engine(qa: QA):  # type: ignore[no-untyped-def]
    def answer(q: Question) -> Answer:
        asked = asked_on(parse_day(q.date)) if q.date else None
        return qa.answer(q.question, asked_at=asked)

    return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench-index")
    parser.add_argument("--limit", type=int, help="first N questions of each set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ensure_index(args.index)
    qa = QA.open(replace(load_settings(env_file=None), index_dir=args.index))
    qa.warmup()
    systems = {
        "newsqa": engine(qa),
        "bm25-overlap": bm25_baseline(qa.retriever),
        "dense-cosine": dense_baseline(qa.retriever),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in SETS:
        questions = list(read_questions(EVAL / name / "questions-dev.jsonl"))[: args.limit]
        results[name] = {}
        for system, answer in systems.items():
            started = time.perf_counter()
            results[name][system] = metrics(run_questions(questions, answer))
            print(f"{name}/{system}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
        print(f"\n== {name} dev ({len(questions)} questions) ==")
        print(format_table(results[name]))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
