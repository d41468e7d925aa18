"""Scoring answers against QA benchmarks (questions JSONL with gold answers and doc ids)."""

from __future__ import annotations

import bisect
import logging
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.answer.batch import Question
from retrieval.answer.batch import read_questions as read_questions  # for the bench scripts
from retrieval.answer.engine import Answer
from retrieval.dates import day_number
from retrieval.errors import NewsQAError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    question: Question
    answer: Answer | None  # None when the question was refused as bad input
    seconds: float
    error: str | None = None


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation to spaces: for matching gold answers."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(re.sub(r"[^\w%$.']+", " ", text.lower()).split())


def _gold_pattern(gold: str) -> re.Pattern[str] | None:
    want = normalise(gold)
    if not want:
        return None
    before = r"(?<!\w)(?<!\d\.)" if want[0].isdigit() else ""  # not in 2015 or 1.5
    after = r"(?!\w)(?!\.\d)" if want[-1].isdigit() else ""
    return re.compile(before + re.escape(want) + after)


def hit(answer_text: str | None, gold: Sequence[str]) -> bool:
    """Whether a gold answer string occurs in the answer text (case-insensitive); a gold
    answer that starts or ends with a digit must not touch another letter or digit there
    ("5" is not found inside "2015" or "5.5")."""
    if not answer_text:
        return False
    norm = normalise(answer_text)
    return any(p is not None and p.search(norm) for p in map(_gold_pattern, gold))


_ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")


class AnswerFree:
    """Masks of the chunks that do not hold a question's gold answer, for asking the
    question of a corpus that still holds its topic but not its answer (a near miss:
    the kind of question a reader asks about a detail the news did not report).

    A chunk holds the answer when a gold string occurs in its title or text (matched as
    :func:`hit` does) or, for a gold date written as YYYY-MM-DD, when it is dated that day
    (replies show the story's date).
    """

    def __init__(self, texts: Sequence[str], days: Sequence[int]) -> None:
        norms = [normalise(t) for t in texts]
        self._starts = []
        pos = 0
        for t in norms:
            self._starts.append(pos)
            pos += len(t) + 3
        self._all = " | ".join(norms)  # one search over every chunk; the bar ends words
        self._days = np.asarray(days)

    def allowed(self, gold: Sequence[str]) -> np.ndarray:
        keep = np.ones(len(self._starts), dtype=bool)
        for g in gold:
            pattern = _gold_pattern(g)
            if pattern is None:
                continue
            for m in pattern.finditer(self._all):
                keep[bisect.bisect_right(self._starts, m.start()) - 1] = False
            if _ISO_DAY.fullmatch(g.strip()):
                keep[self._days == day_number(g.strip())] = False
        return keep


def run_questions(
    questions: Sequence[Question],
    answer: Callable[[Question], Answer],
    progress: bool = False,
) -> list[Outcome]:
    outcomes = []
    iterable: Any = questions
    if progress:
        from tqdm import tqdm

        iterable = tqdm(questions, desc="questions", unit="q")
    for q in iterable:
        started = time.perf_counter()
        try:
            a: Answer | None = answer(q)
            error = None
        except NewsQAError as exc:
            a, error = None, str(exc)
        outcomes.append(Outcome(q, a, time.perf_counter() - started, error))
    return outcomes


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[pos]


def doc_ranking(answer: Answer) -> list[str]:
    """Distinct document ids of the retrieved passages, in rank order."""
    seen: list[str] = []
    for p in answer.passages:
        if p.doc_id not in seen:
            seen.append(p.doc_id)
    return seen


def metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Hit rate, doc recall@1/5/10, MRR, answered rate, answer length and latency."""
    n = len(outcomes) or 1
    hits = answered = 0
    recall = {1: 0, 5: 0, 10: 0}
    rr = 0.0
    lengths: list[int] = []
    for o in outcomes:
        a = o.answer
        if a is None:
            continue
        if not a.abstained and a.text:
            answered += 1
            lengths.append(len(a.text.split()))
            hits += hit(a.text, o.question.answers)
        docs = doc_ranking(a)
        if o.question.doc_id in docs:
            rank = docs.index(o.question.doc_id) + 1
            rr += 1 / rank
            for k in recall:
                recall[k] += rank <= k
    ms = [o.seconds * 1000 for o in outcomes]
    return {
        "questions": len(outcomes),
        "hit_rate": hits / n,
        "precision": hits / answered if answered else 0.0,
        "answered_rate": answered / n,
        "recall@1": recall[1] / n,
        "recall@5": recall[5] / n,
        "recall@10": recall[10] / n,
        "mrr": rr / n,
        "median_words": statistics.median(lengths) if lengths else 0.0,
        "latency_p50_ms": _percentile(ms, 50),
        "latency_p95_ms": _percentile(ms, 95),
    }


def threshold_curve(
    outcomes: Sequence[Outcome], steps: int = 50
) -> list[tuple[float, float, float]]:
    """(threshold, answered rate, hit rate) as the abstain threshold rises over confidences."""
    rows = [
        (o.answer.confidence, hit(o.answer.text, o.question.answers))
        for o in outcomes
        if o.answer is not None and o.answer.text
    ]
    n = len(outcomes) or 1
    if not rows:
        return []
    confs = sorted(c for c, _ in rows)
    cuts = sorted({confs[min(len(confs) - 1, i * len(confs) // steps)] for i in range(steps)})
    return [
        (t, sum(c >= t for c, _ in rows) / n, sum(h for c, h in rows if c >= t) / n)
        for t in [min(confs) - 1e-9, *cuts]
    ]


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one column per system or benchmark."""
    names = list(results)
    keys = list(next(iter(results.values())))
    width = max(len(k) for k in keys)
    cols = [max(10, len(n)) for n in names]
    lines = [" " * width + "  " + "  ".join(n.rjust(c) for n, c in zip(names, cols, strict=True))]
    for k in keys:
        cells = []
        for name, c in zip(names, cols, strict=True):
            v = results[name][k]
            is_rate = k not in ("questions", "median_words") and "ms" not in k
            cells.append(
                (f"{v:.1%}" if is_rate else f"{v:.1f}" if isinstance(v, float) else str(v)).rjust(c)
            )
        lines.append(k.ljust(width) + "  " + "  ".join(cells))
    return "\n".join(lines)
