"""Lexical search: BM25 over chunk texts, and the term statistics the answer ranker uses.

Both the retriever (BM25 scores of every chunk) and the answer step (stemmed terms and their
idf, for term-overlap features) read the same tokenisation, so a question's terms mean the
same thing in search and in ranking.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter

import bm25s
import numpy as np
import Stemmer

# bm25s sets its own logger to DEBUG when imported, which would print its index-building
# chatter in every CLI run and bot log.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOP = frozenset(bm25s.stopwords.STOPWORDS_EN)


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
