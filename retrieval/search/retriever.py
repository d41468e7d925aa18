"""Hybrid passage retrieval: BM25 over chunk texts and dense search in the store.

News questions hinge on names, numbers and dates, where lexical matching is strong, and
on paraphrase, where dense retrieval is strong; both scores are combined.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from retrieval.dates import day_number, period_days
from retrieval.encoder.base import Encoder
from retrieval.ingest.chunking import Chunk
from retrieval.search.lexical import Lexical
from retrieval.store.base import SearchIndex, period_mask

log = logging.getLogger(__name__)

CANDIDATES = 100  # from each of the dense and the lexical lists
# Fusion weights, chosen on the benchmarks' dev questions (bench/answers.py):
LEXICAL_WEIGHT = 0.3  # of BM25 relative to the question's best BM25 score
RECENCY_WEIGHT = 0.1  # of the prior for recent stories, in cosine units
RECENCY_DAYS = 14.0  # its decay


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the document facts needed to cite it."""

    rank: int
    chunk_id: str
    doc_id: str
    score: float  # fused score: cosine + scaled BM25 (+ recency prior); higher is better
    dense: float  # cosine similarity of question and chunk
    lexical: float  # BM25 score of the chunk
    text: str
    title: str
    date: str | None
    url: str | None
    position: int  # row in the index
    chunk_start: int = 0  # offset of the chunk in its document's text
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans in ``text``
    first_row: int = 0  # sentence-vector row of the first of them
    kind: str = "article"  # the document's kind: "event", "article", "jsonl"


class Retriever:
    """Finds the chunks most relevant to a question."""

    def __init__(self, index: SearchIndex, encoder: Encoder) -> None:
        self.index = index
        self.encoder = encoder
        # BM25 stays in the process whatever the store (see README, "Scaling out").
        texts, days = index.lexical_columns()
        self.lexical = Lexical(texts)
        # Document dates as ISO day numbers (0 = undated), for fast period masks.
        self._days = days
        self._doc_rows: dict[str, list[int]] | None = None  # built on first use

    def doc_positions(self, doc_ids: Sequence[str]) -> np.ndarray:
        """The index positions of every chunk of the documents ``doc_ids`` (unknown ids are
        skipped). The map is built once per loaded version, on the first call."""
        rows = self._doc_rows
        if rows is None:
            rows = {}
            for pos, doc_id in enumerate(self.index.chunk_doc_ids()):
                rows.setdefault(doc_id, []).append(pos)
            self._doc_rows = rows
        out = [p for d in dict.fromkeys(doc_ids) for p in rows.get(d, ())]
        return np.asarray(out, dtype=np.int64)

    def sentence_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored unit vectors of sentences by row (``Hit.first_row`` onwards)."""
        return self.index.sentence_vectors_at(rows)

    def embed_question(self, question: str) -> np.ndarray:
        return self.encoder.encode([question])[0]

    def date_mask(self, since: str | None, until: str | None) -> np.ndarray | None:
        """Chunks eligible in [since, until] (ISO strings), or None for all. A period
        excludes documents dated outside it; undated documents stay eligible."""
        return period_mask(self._days, *period_days(since, until))

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        since: str | None = None,
        until: str | None = None,
        qvec: np.ndarray | None = None,
        recent_to: date | None = None,
        allowed: np.ndarray | None = None,
        prefer: np.ndarray | None = None,
        prefer_weight: float = 0.0,
    ) -> list[Hit]:
        """The top ``k`` chunks, optionally limited to a date range.

        Candidates are the union of the dense and the BM25 top lists; each is scored by
        cosine similarity plus BM25 scaled to the question's best BM25 score (so the
        lexical part is comparable across questions), plus, when ``recent_to`` is given,
        a prior for stories dated shortly before it: news questions mostly ask about
        what just happened. ``allowed`` (one flag per chunk) limits the search further.
        ``prefer`` (chunk positions, e.g. the stories a conversation is about) are always
        candidates and get ``prefer_weight`` added to their score.
        """
        n = len(self.index)
        if n == 0 or k <= 0:
            return []
        if qvec is None:
            qvec = self.embed_question(question)
        mask = self.date_mask(since, until)
        if allowed is not None:
            mask = allowed if mask is None else mask & allowed
        cand = min(n, max(CANDIDATES, k))
        lo, hi = period_days(since, until)
        dense_top = [
            i for i, _ in self.index.dense_search(qvec, cand, since=lo, until=hi, allowed=allowed)
        ]
        lex = self.lexical.scores(question)
        if mask is not None:
            lex = np.where(mask, lex, 0.0)
        lex_top = [int(i) for i in np.argsort(-lex, kind="stable")[:cand] if lex[i] > 0]
        preferred: set[int] = set()
        if prefer is not None and prefer_weight:
            preferred = {int(p) for p in prefer if mask is None or mask[p]}
        pool = np.array(sorted(set(dense_top) | set(lex_top) | preferred), dtype=np.int64)
        if len(pool) == 0:
            return []
        dense = self.index.chunk_vectors(pool) @ qvec
        fused = dense + LEXICAL_WEIGHT * lex[pool] / (float(lex.max()) or 1.0)
        if recent_to is not None:
            days = self._days[pool]
            age = np.maximum(day_number(recent_to) - days, 0)
            fused = fused + np.where(days > 0, RECENCY_WEIGHT * np.exp(-age / RECENCY_DAYS), 0.0)
        if preferred:
            fused = fused + prefer_weight * np.isin(pool, list(preferred))
        order = np.argsort(-fused, kind="stable")[:k]
        fetched = self.index.fetch_chunks([int(pool[o]) for o in order])
        return [
            self._hit(rank, int(pool[o]), float(fused[o]), float(dense[o]),
                      float(lex[pool[o]]), chunk, first_row)
            for rank, (o, (chunk, first_row)) in enumerate(zip(order, fetched, strict=True))
        ]  # fmt: skip

    def _hit(
        self, rank: int, pos: int, score: float, dense: float, lexical: float, chunk: Chunk,
        first_row: int,
    ) -> Hit:  # fmt: skip
        doc = self.index.docs[chunk.doc_id]
        return Hit(
            rank=rank + 1,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            score=score,
            dense=dense,
            lexical=lexical,
            text=chunk.text,
            title=doc.title,
            date=doc.date,
            url=doc.url,
            position=pos,
            chunk_start=chunk.start,
            sentences=chunk.sentences,
            first_row=first_row,
            kind=doc.kind,
        )
