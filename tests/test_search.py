"""Hybrid search on the bundled corpus: how dense and BM25 scores are fused, the period
mask, and the recency prior."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pytest

from retrieval.answer.qa import QA
from retrieval.dates import day_number
from retrieval.search.retriever import LEXICAL_WEIGHT, RECENCY_DAYS, RECENCY_WEIGHT, Retriever
from retrieval.settings import Settings

QUESTION = "Who is Moscow's envoy to NATO?"


@pytest.fixture(scope="module")
def retriever(default_index: Settings, model) -> Retriever:  # type: ignore[no-untyped-def]
    return QA.open(default_index, encoder=model).retriever


def test_fused_score_is_cosine_plus_scaled_bm25(retriever: Retriever) -> None:
    """Each hit scores its cosine plus 0.3 x its BM25 over the question's best BM25, and
    hits come in that order."""
    hits = retriever.search(QUESTION, 10)
    best_bm25 = float(retriever.lexical.scores(QUESTION).max())
    qvec = retriever.embed_question(QUESTION)
    assert best_bm25 > 0 and len(hits) == 10
    for h in hits:
        assert np.isclose(h.score, h.dense + LEXICAL_WEIGHT * h.lexical / best_bm25, atol=1e-5)
        stored = retriever.index.chunk_vectors(np.array([h.position])) @ qvec
        assert np.isclose(h.dense, float(stored[0]), atol=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.rank for h in hits] == list(range(1, 11))


def test_period_excludes_dated_chunks_outside_it_and_keeps_undated(
    retriever: Retriever,
) -> None:
    """--since/--until drop documents dated outside; undated documents stay eligible."""
    hits = retriever.search(QUESTION, 30, since="2016-04-10", until="2016-04-20")
    assert hits
    assert all(h.date is None or "2016-04-10" <= h.date <= "2016-04-20" for h in hits)
    everything = retriever.search(QUESTION, 30)
    assert any(h.date and not "2016-04-10" <= h.date <= "2016-04-20" for h in everything)


def test_recency_prior_adds_a_decaying_bonus_to_dated_stories(retriever: Retriever) -> None:
    """Asked the day after a story, it gains 0.1 x exp(-age/14) over the plain score."""
    plain = {h.chunk_id: h for h in retriever.search(QUESTION, 20)}
    asked = date(2016, 4, 21)
    recent = {h.chunk_id: h for h in retriever.search(QUESTION, 20, recent_to=asked)}
    both = plain.keys() & recent.keys()
    assert both
    for cid in both:
        p, r = plain[cid], recent[cid]
        bonus = 0.0
        if p.date is not None:
            age = max(day_number(asked) - day_number(p.date), 0)
            bonus = RECENCY_WEIGHT * np.exp(-age / RECENCY_DAYS)
        assert np.isclose(r.score - p.score, bonus, atol=1e-5), (p.date, r.score, p.score)
    assert any(plain[c].date for c in both)


def test_building_the_lexical_index_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """bm25s's own debug chatter stays out of the CLI's and the bot's logs."""
    from retrieval.search.lexical import Lexical

    with caplog.at_level(logging.DEBUG):
        Lexical(["the council meets in Brussels", "a storm hits the coast"])
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bm25s")] == []
