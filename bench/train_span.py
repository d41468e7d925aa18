"""Fit the answer-span scorer on the dev questions of both benchmarks, report
cross-validated figures, and write `retrieval/answer/span.json`.

    python bench/train_span.py [--shared DIR] [--folds 5] [--no-write]

Training needs no retrieval: for each dev question, the sentences of its gold document
that hold a gold answer are the examples; every candidate phrase of such a sentence
(`retrieval.answer.phrases`) is labelled by whether it holds a gold answer. The scorer
(linear per answer type plus one hidden layer of 64 tanh units) is fitted listwise
(softmax over a sentence's candidates, the answer-holding ones as targets) with torch, so
that the top candidate holds the answer; the engine scores with numpy. Figures: of those
sentences, how often the top candidate holds a gold answer (span hit), and its median
length in words; folds are by document (all questions on one document in one fold), and
a second figure trains on one benchmark and tests on the other. The typed picker (names,
numbers and dates only) is shown on the same sentences for comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from retrieval.answer import phrases
from retrieval.answer.evaluate import hit, normalise, read_questions
from retrieval.answer.question import analyse
from retrieval.answer.span import (
    ALL_Q,
    SPAN_PATH,
    TYPED_FALLBACK,
    Hidden,
    SpanScorer,
    choose,
    span_phrases,
    typed_span,
)
from retrieval.ingest.sentences import sentence_spans

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SETS = ("rtqa", "squad")
Q_SHARE = phrases.FEATURES.index("q_share")
SENTENCES_PER_QUESTION = 2  # the first answer-holding sentences of the gold document
HIDDEN = 64  # units of the hidden layer
EPOCHS = 12
BATCH = 128  # sentences
LEARNING_RATE = 0.003
WEIGHT_DECAY = 3e-4


@dataclass
class Example:
    """One answer-holding sentence of a question, with its candidates."""

    bench: str
    doc: str
    question: str
    group: str  # the question's answer type (phrases.WH_GROUPS)
    sentence: str
    gold: tuple[str, ...]
    typed: tuple[int, int] | None
    spans: list[tuple[int, int]]  # character spans of the candidates
    rows: np.ndarray  # candidates x phrases.FEATURES
    labels: np.ndarray


def _holds(text: str, gold: Sequence[str], firsts: set[str]) -> float:
    """Whether ``text`` holds a gold answer (a quick test for the first word first)."""
    low = text.lower()
    return float(any(w in low for w in firsts) and hit(text, gold))


def corpus(shared: Path, name: str) -> dict[str, str]:
    docs = {}
    with (shared / "eval" / name / "corpus.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            docs[row["id"]] = row["text"]
    return docs


_VERB_BEFORE = frozenset(
    re.findall(r"\S+", "he she they it we i who which will would can could may might should "
               "must did does do not also never")
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z][a-z'’-]*")


def verb_words(texts: Sequence[str], least: int = 3, share: float = 0.7) -> frozenset[str]:
    """Lower-case words seen at least ``least`` times after a pronoun, a modal or a
    determiner, and mostly (``share``) after the first two: verbs rather than nouns."""
    verb: Counter[str] = Counter()
    noun: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(text)
        for a, b in pairwise(words):
            if not b.islower() or b in phrases.FUNCTION:
                continue
            if a.lower() in _VERB_BEFORE:
                verb[b] += 1
            elif a.lower() in phrases.DETERMINERS:
                noun[b] += 1
    return frozenset(w for w in verb if verb[w] + noun[w] >= least
                     and (verb[w] + 0.5) / (verb[w] + noun[w] + 1) > share)  # fmt: skip


def examples(shared: Path, name: str, docs: dict[str, str], verbs: frozenset[str]) -> list[Example]:
    folder = shared / "eval" / name
    out = []
    for q in read_questions(folder / "questions-dev.jsonl"):
        text = docs.get(q.doc_id or "")
        if text is None or not q.answers:
            continue
        info = analyse(q.question)
        firsts = {normalise(g).split()[0] for g in q.answers if normalise(g)}
        q_words = {t.lower for t in phrases.tokens(q.question)}
        in_gold = max(sum(t.lower in q_words for t in phrases.tokens(g)) for g in q.answers)
        found = 0
        for s, e in sentence_spans(text):
            sentence = text[s:e]
            if found == SENTENCES_PER_QUESTION or not hit(sentence, q.answers):
                continue
            found += 1
            ph = span_phrases(info, sentence, verbs)
            keep = np.flatnonzero(ph.rows[:, ALL_Q] == 0)
            spans = [ph.span(int(k)) for k in keep]
            labels = np.array([_holds(sentence[a:b], q.answers, firsts) for a, b in spans])
            # A phrase that holds the answer but also more of the question's words than the
            # answer has is not the answer's phrase ("historians say the old lighthouse").
            labels[ph.rows[keep, Q_SHARE] * (ph.ends - ph.starts)[keep] > in_gold + 0.5] = 0
            out.append(Example(name, q.doc_id or "", q.question,
                               phrases.wh_group(info.wh, info.text),
                               sentence, q.answers, typed_span(info, sentence), spans,
                               ph.rows[keep], labels))  # fmt: skip
    return out


class _Net(torch.nn.Module):
    """Per answer type, a linear score plus a shared hidden layer (its bias per type)."""

    def __init__(self, features: int, groups: int) -> None:
        super().__init__()
        self.linear = torch.nn.Parameter(torch.zeros(features, groups))
        self.shared = torch.nn.Parameter(torch.zeros(features))
        self.w = torch.nn.Linear(features, HIDDEN)
        self.bias = torch.nn.Embedding(groups, HIDDEN)
        self.out = torch.nn.Linear(HIDDEN, 1, bias=False)
        torch.nn.init.normal_(self.w.weight, 0, 0.05)
        torch.nn.init.zeros_(self.bias.weight)
        torch.nn.init.normal_(self.out.weight, 0, 0.05)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        z = (x @ self.linear).gather(1, g[:, None])[:, 0] + x @ self.shared
        return z + self.out(torch.tanh(self.w(x) + self.bias(g)))[:, 0]

    def penalty(self) -> torch.Tensor:
        weights = (self.linear, self.shared, self.w.weight, self.bias.weight, self.out.weight)
        return sum((p**2).sum() for p in weights)  # type: ignore[return-value]


def _batch(exs: Sequence[Example]) -> tuple[torch.Tensor, ...]:
    x = np.vstack([ex.rows for ex in exs]).astype(np.float32)
    g = np.concatenate([np.full(len(ex.rows), phrases.WH_GROUPS.index(ex.group)) for ex in exs])
    y = np.concatenate([ex.labels for ex in exs]).astype(np.float32)
    seg = np.concatenate([np.full(len(ex.rows), k) for k, ex in enumerate(exs)])
    return tuple(torch.from_numpy(a) for a in (x, g, y, seg))


def fit(exs: Sequence[Example], verbs: frozenset[str]) -> SpanScorer:
    """Weights maximising, over examples, the softmax mass on answer-holding candidates
    (Adam over batches of sentences, weight decay on every weight)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the same weights on every run
    net = _Net(len(phrases.FEATURES), len(phrases.WH_GROUPS))
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    useful = [ex for ex in exs if ex.labels.any()]
    rng = np.random.default_rng(0)
    for _ in range(EPOCHS):
        order = rng.permutation(len(useful))
        for at in range(0, len(order), BATCH):
            batch = [useful[k] for k in order[at : at + BATCH]]
            x, g, y, seg = _batch(batch)
            z = net(x, g)
            n = len(batch)
            top = torch.zeros(n).scatter_reduce(0, seg, z, "amax", include_self=False)
            ez = torch.exp(z - top[seg])
            total = torch.zeros(n).index_add(0, seg, ez)
            pos = torch.zeros(n).index_add(0, seg, ez * y)
            nll = -(torch.log(pos) - torch.log(total)).sum() / n
            opt.zero_grad()
            (nll + WEIGHT_DECAY * net.penalty()).backward()
            opt.step()
    with torch.no_grad():
        linear = (net.linear + net.shared[:, None]).numpy().astype(float)
        hidden = Hidden(
            net.w.weight.numpy().T.copy(),
            {g: (net.w.bias + net.bias.weight[k]).numpy()
             for k, g in enumerate(phrases.WH_GROUPS)},
            net.out.weight.numpy()[0].copy(),
        )  # fmt: skip
    weights = {g: linear[:, k] for k, g in enumerate(phrases.WH_GROUPS)}
    return SpanScorer(weights, verbs, hidden)


def chosen_spans(
    exs: Sequence[Example], scorer: SpanScorer, typed_first: bool = True
) -> list[tuple[int, int] | None]:
    """The span answer_span gives (with ``typed_first``: a name for the answer types in
    NAMES_ONLY when the typed picker finds one, a phrase holding the typed pick for
    TYPED_WITHIN), or the scorer's alone."""
    out: list[tuple[int, int] | None] = []
    for ex in exs:
        z = scorer.score(ex.rows, ex.group)
        if not typed_first:
            out.append(ex.spans[int(np.argmax(z))] if len(z) else None)
            continue
        picked = choose(ex.group, ex.sentence, ex.rows, ex.spans, z, ex.typed)
        out.append(picked if picked is not None or ex.group not in TYPED_FALLBACK else ex.typed)
    return out


def report(label: str, exs: Sequence[Example], chosen: Sequence[tuple[int, int] | None]) -> str:
    hits = [c is not None and hit(ex.sentence[c[0] : c[1]], ex.gold)
            for ex, c in zip(exs, chosen, strict=True)]  # fmt: skip
    words = [len(ex.sentence[c[0] : c[1]].split()) for ex, c in zip(exs, chosen, strict=True)
             if c is not None]  # fmt: skip
    rate = sum(hits) / (len(exs) or 1)
    median = statistics.median(words or [0])
    return f"{label:<34} span hit {rate:6.1%}  median words {median:.0f}  ({len(exs)} sentences)"


def fold_of(doc: str, folds: int) -> int:
    return zlib.crc32(doc.encode()) % folds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="report only")
    args = parser.parse_args()
    started = time.perf_counter()
    docs = {name: corpus(args.shared, name) for name in SETS}
    verbs = verb_words([t for name in SETS for t in docs[name].values()])
    data = {name: examples(args.shared, name, docs[name], verbs) for name in SETS}
    every = [ex for name in SETS for ex in data[name]]
    print(f"{len(every)} sentences, {sum(len(ex.spans) for ex in every)} candidates "
          f"in {time.perf_counter() - started:.0f}s")  # fmt: skip
    for name in SETS:
        print(report(f"{name}: typed picker", data[name], [ex.typed for ex in data[name]]))
    # Folds by document: no question on a document in a test fold was seen in training.
    oof: dict[int, tuple[int, int] | None] = {}
    alone: dict[int, tuple[int, int] | None] = {}
    for k in range(args.folds):
        train = [ex for ex in every if fold_of(ex.doc, args.folds) != k]
        test_ids = [i for i, ex in enumerate(every) if fold_of(ex.doc, args.folds) == k]
        scorer = fit(train, verbs)
        test = [every[i] for i in test_ids]
        for i, c in zip(test_ids, chosen_spans(test, scorer), strict=True):
            oof[i] = c
        for i, c in zip(test_ids, chosen_spans(test, scorer, typed_first=False), strict=True):
            alone[i] = c
    at = 0
    for name in SETS:
        n = len(data[name])
        got = [alone[i] for i in range(at, at + n)]
        print(report(f"{name}: {args.folds}-fold, scorer alone", data[name], got))
        got = [oof[i] for i in range(at, at + n)]
        print(report(f"{name}: {args.folds}-fold by document", data[name], got))
        at += n
    for train_on, test_on in (SETS, SETS[::-1]):
        scorer = fit(data[train_on], verbs)
        test = data[test_on]
        got = chosen_spans(test, scorer)
        print(report(f"{test_on}: trained on {train_on} only", test, got))
    scorer = fit(every, verbs)
    print(report("all: in-sample (shipped weights)", every, chosen_spans(every, scorer)))
    if not args.no_write:
        note = {"trained_on": list(SETS), "epochs": EPOCHS, "weight_decay": WEIGHT_DECAY}
        scorer.save(SPAN_PATH, note)
        print(f"wrote {SPAN_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
