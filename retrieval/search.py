"""Hybrid passage retrieval: BM25 over chunk texts and dense search over the FAISS index.

News questions hinge on names, numbers and dates, where lexical matching is strong, and
on paraphrase, where dense retrieval is strong; ranks from both are fused (reciprocal
rank fusion), which needs no score calibration between the two.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

import bm25s
import numpy as np
import Stemmer
from sentence_transformers import SentenceTransformer

from .chunking import embedding_text
from .embedding import embed
from .index import Index, search_vectors

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOP = frozenset(bm25s.stopwords.STOPWORDS_EN)
RRF_K = 60
CANDIDATES = 100


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the document facts needed to cite it."""

    rank: int
    chunk_id: str
    doc_id: str
    score: float  # fused score (higher is better)
    dense: float  # cosine similarity of question and chunk
    lexical: float  # BM25 score of the chunk
    text: str
    title: str
    date: str | None
    url: str | None
    position: int  # row in the index


def _day_number(iso: str | None) -> int:
    return date.fromisoformat(iso).toordinal() if iso else 0


def _masked_top(scores: np.ndarray, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Exact top-k of the allowed rows (a date period rules out the rest)."""
    allowed = np.flatnonzero(mask)
    if len(allowed) == 0:
        return []
    sub = scores[allowed]
    k = min(k, len(sub))
    top = np.argpartition(-sub, k - 1)[:k]
    top = top[np.argsort(-sub[top], kind="stable")]
    return [(int(allowed[i]), float(sub[i])) for i in top]


class Lexical:
    """BM25 over the chunks of an index (built in memory when the index loads), and the
    term statistics the answer ranker uses."""

    def __init__(self, texts: list[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25 = bm25s.BM25()
        self.size = len(texts)
        docs = [self.terms(t) for t in texts]
        df: Counter[str] = Counter()
        for terms in docs:
            df.update(set(terms))
        n = max(1, len(texts))
        # Smoothed idf, never negative, so that common words still count a little.
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._max_idf = math.log(1 + (n + 0.5) / 0.5)
        if texts:
            self._bm25.index(docs, show_progress=False)

    def terms(self, text: str) -> list[str]:
        """Lower-cased, stemmed content words (stop words dropped)."""
        words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
        return self._stemmer.stemWords(words) if words else []

    def idf(self, term: str) -> float:
        """Unseen terms get the highest idf: a rare name in a question matters most."""
        return self._idf.get(term, self._max_idf)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every chunk (zeros when the question has no indexed term)."""
        tokens = [t for t in self.terms(text) if t in self._idf]
        if not tokens or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


class Retriever:
    """Finds the chunks most relevant to a question."""

    def __init__(self, index: Index, model: SentenceTransformer) -> None:
        self.index = index
        self.model = model
        texts = [
            embedding_text(index.docs[c.doc_id].title, c.text) if c.doc_id in index.docs else c.text
            for c in index.chunks
        ]
        self.lexical = Lexical(texts)
        # Document dates as ISO day numbers (0 = undated), for fast period masks.
        self._days = np.array(
            [_day_number(index.docs[c.doc_id].date) for c in index.chunks], dtype=np.int32
        )

    def embed_question(self, question: str) -> np.ndarray:
        return embed(self.model, [question])[0]

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
    ) -> list[Hit]:
        """The top ``k`` chunks by fused rank, optionally limited to a date range."""
        n = len(self.index)
        if n == 0 or k <= 0:
            return []
        if qvec is None:
            qvec = self.embed_question(question)
        mask = self.date_mask(since, until)
        cand = min(n, max(CANDIDATES, k))
        # With a date filter, search wider so that enough candidates survive the filter.
        if mask is None:
            dense_hits = search_vectors(self.index, qvec[None, :], cand)[0]
        else:
            dense_hits = _masked_top(self.index.vectors @ qvec, mask, cand)
        lex = self.lexical.scores(question)
        if mask is not None:
            lex = np.where(mask, lex, 0.0)
        dense_hits = dense_hits[:cand]
        lex_top = np.argsort(-lex, kind="stable")[:cand]
        lex_top = [int(i) for i in lex_top if lex[i] > 0]

        fused: dict[int, float] = {}
        for rank, (pos, _) in enumerate(dense_hits):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, pos in enumerate(lex_top):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda p: -fused[p])[:k]
        dense_scores = self.index.vectors[order] @ qvec if order else np.zeros(0)
        return [
            self._hit(rank, pos, fused[pos], float(dense_scores[rank]), float(lex[pos]))
            for rank, pos in enumerate(order)
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
        )
