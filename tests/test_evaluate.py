"""Benchmark metrics computed from hand-made outcomes, so every figure is known."""

from __future__ import annotations

import pytest

from retrieval.answer.batch import Question
from retrieval.answer.engine import Answer, Passage
from retrieval.answer.evaluate import AnswerFree, Outcome, hit, metrics
from retrieval.dates import day_number


def _outcome(
    answers: tuple[str, ...], doc: str | None, text: str | None, ranked: list[str], ms: float
) -> Outcome:
    q = Question("q", "?", answers, doc)
    passages = tuple(Passage(d, f"{d}#{i}", 1.0 - i / 10) for i, d in enumerate(ranked))
    a = Answer("?", text, (), 0.9 if text else 0.1, text is None, passages)
    return Outcome(q, a, ms / 1000)


def test_metrics_of_known_outcomes() -> None:
    """Hit rate counts answered hits over all questions, precision over answered ones;
    recall@k and MRR use the rank of the gold document among distinct documents."""
    outcomes = [
        # answered, right, gold document first (after its second chunk, same document)
        _outcome(("Grushko",), "d1", "Alexander Grushko is the envoy.", ["d1", "d1", "d2"], 10),
        # answered, wrong; gold document third among distinct documents
        _outcome(("1998",), "d3", "In 2015 it rose.", ["d1", "d2", "d2", "d3"], 20),
        # abstained; gold document at rank 6
        _outcome(("x",), "d6", None, ["a", "b", "c", "d", "e", "d6"], 30),
        # refused as bad input: counts in the totals only
        Outcome(Question("q", "", ("y",), "d1"), None, 0.04, "bad question"),
    ]
    m = metrics(outcomes)
    assert m["questions"] == 4
    assert m["hit_rate"] == pytest.approx(1 / 4)
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["answered_rate"] == pytest.approx(2 / 4)
    assert m["recall@1"] == pytest.approx(1 / 4)
    assert m["recall@5"] == pytest.approx(2 / 4)
    assert m["recall@10"] == pytest.approx(3 / 4)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 6) / 4)
    assert m["median_words"] == pytest.approx((5 + 4) / 2)
    assert m["latency_p50_ms"] == pytest.approx(30, abs=1e-6)  # of 10, 20, 30, 40
    assert m["latency_p95_ms"] == pytest.approx(40, abs=1e-6)


def test_metrics_of_nothing_are_zero() -> None:
    m = metrics([])
    assert m["questions"] == 0 and m["hit_rate"] == 0 and m["precision"] == 0


def test_hit_matches_whole_answers_only() -> None:
    """Case and accents are ignored; a number is not found inside a longer number."""
    assert hit("The envoy is Alexander GRUSHKO.", ["grushko"])
    assert hit("Élysée palace", ["Elysee"])
    assert not hit("It happened in 2015.", ["5"])
    assert hit("Five people, 5 in all.", ["5"])
    assert not hit(None, ["x"]) and not hit("anything", [""])


def test_answer_free_masks_exactly_the_chunks_holding_a_gold_answer() -> None:
    """A chunk is masked when a gold string is in its text (matched as hit() does: whole
    numbers only) or when a gold YYYY-MM-DD is its date; every other chunk stays."""
    texts = [
        "Kerala temple fire\nAt least 102 people were killed.",
        "The toll rose to 1102 on Monday.",  # 102 only inside a longer number
        "Police detained five workers.",
        "A fire at a temple; the 102 dead were mourned.",
    ]
    days = [day_number("2016-04-10"), day_number("2016-04-11"), 0, day_number("2016-04-12")]
    free = AnswerFree(texts, days)
    assert free.allowed(["102"]).tolist() == [False, True, True, False]
    assert free.allowed(["Five Workers", "2016-04-11"]).tolist() == [True, False, False, True]
    assert free.allowed([""]).all()
