"""Fit the answer ranker on the dev questions of both benchmarks, report cross-validated
figures, and write `retrieval/ranker.json`.

    python bench/train_ranker.py [--index DIR] [--folds 5] [--no-write]

The index must hold both benchmark corpora (bench/answers.py builds it). Cross-validation
is grouped by question, so every reported figure comes from a model that never saw it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrieval.answer import gather  # noqa: E402
from retrieval.evaluate import hit, read_questions  # noqa: E402
from retrieval.features import FEATURES, RANKER_PATH, Ranker, featurize  # noqa: E402
from retrieval.qa import QA  # noqa: E402
from retrieval.settings import load_settings  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "eval"


def collect(qa: QA, names: list[str]):  # type: ignore[no-untyped-def]
    """Features and labels of every candidate sentence of every dev question."""
    groups = []
    for name in names:
        for q in read_questions(SHARED / name / "questions-dev.jsonl"):
            asked = datetime.fromisoformat(q.date) if q.date else None
            g = gather(qa.retriever, q.question, asked_at=asked)
            x = featurize(g.info, g.qvec, qa.retriever, g.candidates, g.asked)
            y = np.array([hit(c.text, q.answers) for c in g.candidates], dtype=bool)
            groups.append((name, x, y))
    return groups


def fit(x: np.ndarray, y: np.ndarray, c: float) -> Ranker:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return Ranker(mean, scale, model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def top1(ranker: Ranker, groups) -> list[tuple[str, float, bool]]:  # type: ignore[no-untyped-def]
    out = []
    for name, x, y in groups:
        if len(x) == 0:
            out.append((name, 0.0, False))
            continue
        p = ranker.probabilities(x)
        i = int(np.argmax(p))
        out.append((name, float(p[i]), bool(y[i])))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench-index")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--answered", type=float, default=0.92, help="answered rate to calibrate")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    settings = replace(load_settings(env_file=None), index_dir=args.index)
    dummy = Ranker(*(np.zeros(len(FEATURES), np.float32) for _ in range(2)),
                   np.zeros(len(FEATURES), np.float32), 0.0)  # fmt: skip
    dummy = replace(dummy, scale=np.ones(len(FEATURES), np.float32))
    qa = QA.open(settings, ranker=dummy)
    started = time.perf_counter()
    groups = collect(qa, ["rtqa", "squad"])
    print(f"collected {len(groups)} questions in {time.perf_counter() - started:.0f}s")

    rng = np.random.default_rng(0)
    fold = rng.integers(0, args.folds, len(groups))
    cv: list[tuple[str, float, bool]] = [("", 0.0, False)] * len(groups)
    for k in range(args.folds):
        train = [g for g, f in zip(groups, fold, strict=True) if f != k and len(g[1])]
        x = np.concatenate([g[1] for g in train])
        y = np.concatenate([g[2] for g in train])
        ranker = fit(x, y, args.c)
        test_ids = [i for i, f in enumerate(fold) if f == k]
        for i, r in zip(test_ids, top1(ranker, [groups[i] for i in test_ids]), strict=True):
            cv[i] = r

    confs = np.array([c for _, c, _ in cv])
    threshold = float(np.quantile(confs, 1 - args.answered))
    report: dict[str, dict[str, float]] = {}
    for name in ("rtqa", "squad"):
        rows = [r for r in cv if r[0] == name]
        oracle = np.mean([g[2].any() for g in groups if g[0] == name])
        report[name] = {
            "questions": len(rows),
            "top1_hit_all": float(np.mean([h for _, _, h in rows])),
            "hit_rate_at_threshold": float(np.mean([h and c >= threshold for _, c, h in rows])),
            "answered_rate": float(np.mean([c >= threshold for _, c, _ in rows])),
            "oracle": float(oracle),
        }
    print(f"cross-validated ({args.folds} folds), threshold {threshold:.3f}:")
    print(json.dumps(report, indent=1))

    x = np.concatenate([g[1] for g in groups if len(g[1])])
    y = np.concatenate([g[2] for g in groups if len(g[2])])
    final = replace(fit(x, y, args.c), threshold=threshold)
    for name, w in sorted(zip(FEATURES, final.coef, strict=True), key=lambda t: -abs(t[1]))[:12]:
        print(f"  {name:18s} {w:+.3f}")
    if not args.no_write:
        final.save(RANKER_PATH, {"cross_validated": report})
        print(f"wrote {RANKER_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
