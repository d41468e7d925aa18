"""Fit the answer ranker on the dev questions of both benchmarks, report cross-validated
figures, and write `retrieval/answer/ranker.json`.

    python bench/train_ranker.py [--index DIR] [--folds 5] [--no-write]

The index must hold both benchmark corpora (`python bench/answers.py` builds it). The
ranker is a two-layer network trained listwise (softmax over each question's candidate
sentences, the answer-bearing ones as targets); its confidence is a logistic calibration
of the top score and margin. Folds are by question, so every reported figure comes from
models that never saw the question.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from retrieval.answer.engine import gather, pick, quote
from retrieval.answer.evaluate import hit, read_questions
from retrieval.answer.features import FEATURES, featurize
from retrieval.answer.qa import QA
from retrieval.answer.ranker import RANKER_PATH, Ranker, calibration_inputs
from retrieval.dates import asked_on, parse_day
from retrieval.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "eval"
SETS = ("rtqa", "squad")
# Every Nth question is also asked of the other benchmark's documents only: an
# out-of-corpus question, which the confidence calibration must learn to abstain on.
OUT_OF_CORPUS_EVERY = 3


def gathered(qa: QA, cache: Path | None):  # type: ignore[no-untyped-def]
    """Retrieval results of every dev question (cached: they do not depend on features)."""
    version = qa.version
    if cache and cache.exists():
        saved = pickle.loads(cache.read_bytes())
        if saved["version"] == version:
            return saved["rows"]
    rows = []
    started = time.perf_counter()
    chunk_set = np.array([c.doc_id.split("-")[0] for c in qa.retriever.index.chunks])
    for name in SETS:
        other = chunk_set != name  # the other benchmark's documents only
        for n, q in enumerate(read_questions(SHARED / name / "questions-dev.jsonl")):
            asked = asked_on(parse_day(q.date)) if q.date else None
            rows.append((name, q, gather(qa.retriever, q.question, asked_at=asked)))
            if n % OUT_OF_CORPUS_EVERY == 0:
                g = gather(qa.retriever, q.question, asked_at=asked, allowed=other)
                rows.append((f"{name}-out", q, g))
    print(f"retrieved for {len(rows)} questions in {time.perf_counter() - started:.0f}s")
    if cache:
        cache.write_bytes(pickle.dumps({"version": version, "rows": rows}))
    return rows


def train(xs: list[np.ndarray], ys: list[np.ndarray], mean: np.ndarray, scale: np.ndarray,
          hidden: int, epochs: int, seed: int = 0) -> Ranker:  # fmt: skip
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(len(FEATURES), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    data = [
        (torch.tensor((x - mean) / scale, dtype=torch.float32), torch.tensor(y))
        for x, y in zip(xs, ys, strict=True)
        if len(x) and y.any()
    ]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for b in range(0, len(order), 32):
            loss = torch.zeros(())
            for j in order[b : b + 32]:
                x, y = data[j]
                s = net(x).squeeze(-1)
                loss = loss - (torch.logsumexp(s[y], 0) - torch.logsumexp(s, 0))
            opt.zero_grad()
            (loss / 32).backward()
            opt.step()
    w1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    w2, b2 = net[2].weight.detach().numpy()[0], float(net[2].bias.detach().numpy()[0])
    return Ranker(mean, scale, w1, b1, w2, b2)


def calibrate(inputs: np.ndarray, hits: np.ndarray) -> tuple[float, ...]:
    """Logistic regression of "the top sentence holds the answer" on calibration inputs."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(inputs, hits)
    return (*(float(w) for w in model.coef_[0]), float(model.intercept_[0]))


def choose_neighbour_margin(
    qa: QA,
    rows,
    cv_scores,
    answered,
    names,  # type: ignore[no-untyped-def]
    max_median: float = 35.0,
) -> tuple[float, np.ndarray]:
    """The widest score margin for quoting an adjacent sentence too that keeps the median
    answer within ``max_median`` words on every set (answers as the engine words them)."""
    best_margin, best_hits = 0.0, np.zeros(len(rows), dtype=bool)
    for margin in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0):
        line = []
        ok = True
        hits = np.zeros(len(rows), dtype=bool)
        for name in SETS:
            words = []
            for i in np.flatnonzero(names == name):
                _, q, g = rows[i]
                if not len(cv_scores[i]):
                    continue
                b, p = pick(cv_scores[i], g.candidates, margin)
                partner = g.candidates[p] if p is not None else None
                text, _ = quote(g.candidates[b], partner)
                hits[i] = hit(text, q.answers)
                if answered[i]:
                    words.append(len(text.split()))
            median = float(np.median(words))
            ok &= median <= max_median
            rate = (hits & answered)[names == name].mean()
            line.append(f"{name} hit {rate:.3f} median {median:.0f} words")
        print(f"neighbour margin {margin:.2f}: " + ", ".join(line))
        if ok:
            best_margin, best_hits = margin, hits
    print(f"chosen neighbour margin {best_margin}")
    return best_margin, best_hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench-index")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--answered", type=float, default=0.91,
                        help="answered rate the abstain threshold is set for")  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("/tmp/newsqa-gathered.pkl"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--gold-only", action=argparse.BooleanOptionalAction, default=True,
                        help="train on answer sentences of the gold document only")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)

    settings = replace(load_settings(env_file=None), index_dir=args.index)
    f = len(FEATURES)
    placeholder = Ranker(np.zeros(f, np.float32), np.ones(f, np.float32),
                         np.zeros((1, f), np.float32), np.zeros(1, np.float32),
                         np.zeros(1, np.float32), 0.0)  # fmt: skip
    qa = QA.open(settings, ranker=placeholder)
    rows = gathered(qa, args.cache)
    names = np.array([name for name, _, _ in rows])
    xs, ys, targets = [], [], []
    for _, q, g in rows:
        xs.append(featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates))
        ys.append(np.array([hit(c.text, q.answers) for c in g.candidates], dtype=bool))
        # Train on answer-bearing sentences of the gold document when it was retrieved:
        # a short answer ("two", "1961") also turns up by chance in unrelated sentences.
        gold = np.array([c.hit.doc_id == q.doc_id for c in g.candidates], dtype=bool)
        targets.append(ys[-1] & gold if args.gold_only and (ys[-1] & gold).any() else ys[-1])
    allx = np.concatenate([x for x in xs if len(x)])
    mean, scale = allx.mean(0), allx.std(0)
    scale[scale == 0] = 1.0

    # Folds by question: a question and its out-of-corpus twin always share a fold.
    fold = np.array([zlib.crc32(q.id.encode()) % args.folds for _, q, _ in rows])
    in_corpus = np.isin(names, SETS)
    cv_scores: list[np.ndarray] = [np.zeros(0)] * len(rows)
    inputs = np.zeros((len(rows), 7))
    hits = np.zeros(len(rows), dtype=bool)
    started = time.perf_counter()
    for k in range(args.folds):
        train_ids = [i for i in range(len(rows)) if fold[i] != k and in_corpus[i]]
        ranker = train([xs[i] for i in train_ids], [targets[i] for i in train_ids], mean, scale,
                       args.hidden, args.epochs)  # fmt: skip
        for i in np.flatnonzero(fold == k):
            if len(xs[i]):
                cv_scores[i] = ranker.scores(xs[i])
                inputs[i] = calibration_inputs(cv_scores[i], xs[i])
                hits[i] = ys[i][int(np.argmax(cv_scores[i]))]
            else:
                inputs[i] = (-10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    print(f"cross-validation trained in {time.perf_counter() - started:.0f}s")

    # Calibrate confidence on the held-out fold outputs, then set the threshold.
    calib = calibrate(inputs, hits)
    conf = 1 / (1 + np.exp(-(inputs @ np.array(calib[:-1]) + calib[-1])))
    # One threshold for every set, low enough that each answers at least --answered.
    threshold = min(float(np.quantile(conf[names == n], 1 - args.answered)) for n in SETS)
    answered = conf >= threshold
    neighbour, quote_hits = choose_neighbour_margin(qa, rows, cv_scores, answered, names)
    report = {}
    for name in SETS:
        m = names == name
        report[name] = {
            "questions": int(m.sum()),
            "top1_sentence_hit": float(hits[m].mean()),
            "hit_rate": float((quote_hits & answered)[m].mean()),
            "answered_rate": float((conf >= threshold)[m].mean()),
            "precision": float(quote_hits[m & answered].mean()),
            "oracle": float(np.mean([ys[i].any() for i in np.flatnonzero(m)])),
            "out_of_corpus_abstained": float((~answered)[names == f"{name}-out"].mean()),
        }
    print(f"cross-validated ({args.folds} folds by question), threshold {threshold:.3f}:")
    print(json.dumps(report, indent=1))

    keep = np.flatnonzero(in_corpus)
    final = train([xs[i] for i in keep], [targets[i] for i in keep], mean, scale,
                  args.hidden, args.epochs)  # fmt: skip
    final = replace(final, calibration=calib, threshold=threshold, neighbour_margin=neighbour)
    if not args.no_write:
        final.save(RANKER_PATH, {"cross_validated": report, "hidden": args.hidden,
                                 "epochs": args.epochs})  # fmt: skip
        print(f"wrote {RANKER_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
