"""Hybrid passage retrieval: BM25 over chunk texts and dense search over the FAISS index.

News questions hinge on names, numbers and dates, where lexical matching is strong, and
on paraphrase, where dense retrieval is strong; both scores are combined.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from retrieval.encoder.base import Encoder
from retrieval.ingest.chunking import embedding_text
from retrieval.search.lexical import Lexical
from retrieval.store.faiss import Index, search_vectors

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


def _day_number(iso: str | None) -> int:
    return date.fromisoformat(iso).toordinal() if iso else 0


class Retriever:
    """Finds the chunks most relevant to a question."""

    def __init__(self, index: Index, encoder: Encoder) -> None:
        self.index = index
        self.encoder = encoder
        texts = [
            embedding_text(index.docs[c.doc_id].title, c.text) if c.doc_id in index.docs else c.text
            for c in index.chunks
        ]
        self.lexical = Lexical(texts)
        # Document dates as ISO day numbers (0 = undated), for fast period masks.
        self._days = np.array(
            [_day_number(index.docs[c.doc_id].date) for c in index.chunks], dtype=np.int32
        )

    def sentence_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored unit vectors of sentences by row (``Hit.first_row`` onwards)."""
        return self.index.sentence_vectors[list(rows)]

    def embed_question(self, question: str) -> np.ndarray:
        return self.encoder.encode([question])[0]

    def date_mask(self, since: str | None, until: str | None) -> np.ndarray | None:
        """Chunks eligible in [since, until] (ISO strings), or None for all. A period
        excludes documents dated outside it; undated documents stay eligible."""
        if since is None and until is None:
            return None
        dated = self._days > 0
        mask = np.ones(len(self._days), dtype=bool)
        if since is not None:
            mask &= ~dated | (self._days >= _day_number(since))
        if until is not None:
            mask &= ~dated | (self._days <= _day_number(until))
        return mask

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
    ) -> list[Hit]:
        """The top ``k`` chunks, optionally limited to a date range.

        Candidates are the union of the dense and the BM25 top lists; each is scored by
        cosine similarity plus BM25 scaled to the question's best BM25 score (so the
        lexical part is comparable across questions), plus, when ``recent_to`` is given,
        a prior for stories dated shortly before it: news questions mostly ask about
        what just happened. ``allowed`` (one flag per chunk) limits the search further.
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
        # Searching only the allowed rows, so that a period never starves the list.
        dense_top = [i for i, _ in search_vectors(self.index, qvec[None, :], cand, mask)[0]]
        lex = self.lexical.scores(question)
        if mask is not None:
            lex = np.where(mask, lex, 0.0)
        lex_top = [int(i) for i in np.argsort(-lex, kind="stable")[:cand] if lex[i] > 0]
        pool = np.array(sorted(set(dense_top) | set(lex_top)), dtype=np.int64)
        if len(pool) == 0:
            return []
        dense = self.index.vectors[pool] @ qvec
        fused = dense + LEXICAL_WEIGHT * lex[pool] / (float(lex.max()) or 1.0)
        if recent_to is not None:
            days = self._days[pool]
            age = np.maximum(recent_to.toordinal() - days, 0)
            fused = fused + np.where(days > 0, RECENCY_WEIGHT * np.exp(-age / RECENCY_DAYS), 0.0)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            self._hit(rank, int(pool[o]), float(fused[o]), float(dense[o]), float(lex[pool[o]]))
            for rank, o in enumerate(order)
        ]

    def _hit(self, rank: int, pos: int, score: float, dense: float, lexical: float) -> Hit:
        chunk = self.index.chunks[pos]
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
            first_row=self.index.sentence_rows(pos).start,
            kind=doc.kind,
        )
