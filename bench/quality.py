"""Answer quality on four corpora in one run: the default corpus, the WCEP sample (with its
dev questions and our own), and the
rtqa and squad benchmarks.

    python bench/quality.py [--index DIR] [--limit N] [--misses] [--json]

- default: `tests/data/questions/default-corpus.jsonl` over `corpus/` (hand-written
  questions on all five files: body text, Related lists, article paragraphs; and
  out-of-corpus questions such as "What is the capital of Australia?"). They carry no
  date, so they are asked at the time of the run, as the bot asks them (the benchmarks'
  undated questions are asked without a time, as `bench/train_ranker.py` asks them).
- wcep: `../shared/data/eval/wcep/questions-dev.jsonl` over `../shared/data/wcep/`, each
  asked on its `date` (running tolls as of that day); 4 are not answerable.
- wcep-own: `bench/data/wcep-own.jsonl` over the same WCEP index: questions written for
  this benchmark on other events than the dev set's (28 answerable, 8 near misses: the
  event is in the corpus, the detail asked is not); nothing was tuned on them.
- default, wcep and wcep-own: every answerable question is also asked of its corpus
  without the chunks that hold a gold answer (answer removed: the story is there, the
  detail is not, as with a reader asking for a detail the news did not report); it
  should be abstained on.
- rtqa, squad: the dev questions over one index of both benchmark corpora (the index of
  `bench/answers.py`); every third question is also asked of the other benchmark's
  documents only, where it has no answer (out-of-corpus).

Figures per set: hit rate (a gold answer in the quote, or for "when" questions in the
answer's date, of the answerable questions), answered rate (of answerable), precision,
out-of-corpus questions abstained, answer-removed questions abstained, span hit rate (a
gold answer inside the bold span, of the hits, and of all answerable questions; the median
length of the spans shown, in words) and the
share of answers whose first source is a web link. The ranker and its calibration are fitted on the
rtqa and squad dev questions only (see `bench/train_ranker.py` for cross-validated
figures); default and WCEP are corpora they never learnt from.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from retrieval.answer.engine import Answer, answer
from retrieval.answer.evaluate import AnswerFree, Question, hit, read_questions
from retrieval.answer.qa import QA
from retrieval.index.build import build_index
from retrieval.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_QUESTIONS = REPO / "tests" / "data" / "questions" / "default-corpus.jsonl"
WCEP_OWN_QUESTIONS = REPO / "bench" / "data" / "wcep-own.jsonl"
BENCHMARKS = ("rtqa", "squad")
OUT_OF_CORPUS_EVERY = 3  # as in bench/train_ranker.py


@dataclass(frozen=True)
class Asked:
    question: Question
    answer: Answer
    in_corpus: bool  # False: the corpus searched holds no answer
    seconds: float
    near: bool = False  # asked of its own corpus without the chunks holding the answer


def answer_hit(a: Answer, gold: Sequence[str]) -> bool:
    """A gold answer in the quote; for "when" questions also in the answer's date line."""
    if a.abstained or not a.text:
        return False
    return hit(a.text, gold) or (a.answer_type == "when" and hit(a.date, gold))


def span_hit(a: Answer, gold: Sequence[str]) -> bool:
    """A gold answer inside the bold span (for "when", the date line is the span)."""
    if a.abstained or not a.text:
        return False
    if a.answer_type == "when" and hit(a.date, gold):
        return True
    return a.span is not None and hit(a.text[a.span[0] : a.span[1]], gold)


def build(settings: Settings, corpus: Path, index: Path) -> Settings:
    s = replace(settings, corpus_dir=corpus, index_dir=index)
    report = build_index(s, progress=False)
    print(
        f"index {index.name}: {report.documents} documents, {report.chunks} chunks, "
        f"{report.chunks_embedded} embedded in {report.seconds:.0f}s",
        file=sys.stderr,
    )
    return s


def benchmark_index(settings: Settings, index: Path, evals: Path) -> Settings:
    with tempfile.TemporaryDirectory() as tmp:
        for name in BENCHMARKS:
            (Path(tmp) / f"{name}.jsonl").symlink_to(evals / name / "corpus.jsonl")
        return build(settings, Path(tmp), index)


def ask_all(
    qa: QA,
    questions: Sequence[Question],
    allowed: Callable[[Question], np.ndarray | None] | None = None,
    near: bool = False,
    undated_at: datetime | None = None,
) -> list[Asked]:
    """Ask each question on its date, or at ``undated_at`` if it has none."""
    out = []
    free = AnswerFree(*qa.retriever.index.lexical_columns()) if near else None
    for q in questions:
        asked = datetime.fromisoformat(q.date) if q.date else undated_at
        started = time.perf_counter()
        a = qa.answer(q.question, asked_at=asked)
        out.append(Asked(q, a, bool(q.answers), time.perf_counter() - started))
        mask = allowed(q) if allowed else None
        if mask is not None:
            started = time.perf_counter()
            a = answer(qa.retriever, qa.ranker, q.question, threshold=qa.threshold,
                       asked_at=asked, allowed=mask, reader=qa.reader)  # fmt: skip
            out.append(Asked(q, a, False, time.perf_counter() - started))
        if free is not None and q.answers:
            started = time.perf_counter()
            a = answer(qa.retriever, qa.ranker, q.question, threshold=qa.threshold,
                       asked_at=asked, allowed=free.allowed(q.answers),
                       reader=qa.reader)  # fmt: skip
            out.append(Asked(q, a, False, time.perf_counter() - started, near=True))
    return out


def figures(rows: Sequence[Asked]) -> dict[str, float]:
    ans = [r for r in rows if r.in_corpus]
    oos = [r for r in rows if not r.in_corpus and not r.near]
    near = [r for r in rows if r.near]
    answered = [r for r in ans if not r.answer.abstained]
    hits = [r for r in answered if answer_hit(r.answer, r.question.answers)]
    spans = [r for r in hits if span_hit(r.answer, r.question.answers)]
    linked = [
        r for r in answered
        if r.answer.sources and (r.answer.sources[0].url or "").startswith(("http:", "https:"))
    ]  # fmt: skip
    n = len(ans) or 1
    return {
        "answerable": len(ans),
        "hit_rate": len(hits) / n,
        "answered_rate": len(answered) / n,
        "precision": len(hits) / (len(answered) or 1),
        "out_of_corpus": len(oos),
        "oos_abstained": sum(r.answer.abstained for r in oos) / (len(oos) or 1),
        "answer_removed": len(near),
        "removed_abstained": sum(r.answer.abstained for r in near) / (len(near) or 1),
        "span_hit_of_hits": len(spans) / (len(hits) or 1),
        "span_hit": len(spans) / n,
        "median_span_words": float(statistics.median(
            [len(r.answer.text[slice(*r.answer.span)].split()) for r in answered
             if r.answer.text and r.answer.span] or [0])),
        "web_link": len(linked) / (len(answered) or 1),
        "median_words": float(statistics.median(
            [len((r.answer.text or "").split()) for r in answered] or [0])),
        "latency_p50_ms": 1000 * statistics.median([r.seconds for r in rows] or [0]),
    }  # fmt: skip


def table(results: dict[str, dict[str, float]]) -> str:
    names = list(results)
    keys = list(next(iter(results.values())))
    width = max(len(k) for k in keys)
    lines = [" " * width + "".join(n.rjust(10) for n in names)]
    for k in keys:
        cells = []
        for n in names:
            v = results[n][k]
            counted = k in ("answerable", "out_of_corpus", "answer_removed")
            cells.append((str(int(v)) if counted else f"{v:.1f}" if k.startswith(("median", "lat"))
                          else f"{v:.1%}").rjust(10))  # fmt: skip
        lines.append(k.ljust(width) + "".join(cells))
    return "\n".join(lines)


def show_misses(name: str, rows: Sequence[Asked]) -> None:
    for r in rows:
        a, q = r.answer, r.question
        good = answer_hit(a, q.answers) if r.in_corpus else a.abstained
        if good and (not r.in_corpus or span_hit(a, q.answers)):
            continue
        what = "REMOVED" if r.near else "MISS" if not good else "SPAN"
        span = a.text[a.span[0] : a.span[1]] if a.text and a.span else None
        print(
            f"[{name} {what}] {q.id} {q.question!r} gold={list(q.answers)} conf={a.confidence:.2f}"
            f" abstained={a.abstained} span={span!r}\n    {(a.text or '')[:300]!r}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench-index",
                        help="index of both benchmark corpora (built or updated here)")  # fmt: skip
    parser.add_argument("--work", type=Path, default=REPO / "var" / "quality",
                        help="where the default and WCEP indexes are built")  # fmt: skip
    parser.add_argument("--limit", type=int, help="first N questions of each benchmark")
    parser.add_argument("--sets", default="default,wcep,wcep-own,rtqa,squad")
    parser.add_argument("--misses", action="store_true", help="print misses on the news sets")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    args = parser.parse_args()
    shared, evals = args.shared, args.shared / "eval"
    base = load_settings(env_file=None)
    sets = args.sets.split(",")
    results: dict[str, dict[str, float]] = {}
    qa = None
    for name in sets:
        started = time.perf_counter()
        if name == "default":
            s = build(base, REPO / "corpus", args.work / "default-index")
            questions = list(read_questions(DEFAULT_QUESTIONS))
            rows = ask_all(QA.open(s), questions, near=True, undated_at=datetime.now(UTC))
        elif name in ("wcep", "wcep-own"):
            s = build(base, shared / "wcep", args.work / "wcep-index")
            path = evals / "wcep" / "questions-dev.jsonl" if name == "wcep" else WCEP_OWN_QUESTIONS
            rows = ask_all(QA.open(s), list(read_questions(path)), near=True)
        else:
            if qa is None:
                qa = QA.open(benchmark_index(base, args.index, evals))
                sets_of = np.array([c.doc_id.split("-")[0] for c in qa.retriever.index.chunks])
            questions = list(read_questions(evals / name / "questions-dev.jsonl"))[: args.limit]
            other = sets_of != name
            ids = {q.id for i, q in enumerate(questions) if i % OUT_OF_CORPUS_EVERY == 0}
            rows = ask_all(qa, questions, lambda q, o=other, k=ids: o if q.id in k else None)
        results[name] = figures(rows)
        print(
            f"{name}: {len(rows)} questions asked in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
        if args.misses and name in ("default", "wcep", "wcep-own"):
            show_misses(name, rows)
    print(table(results))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
