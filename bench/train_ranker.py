"""Fit the answer ranker on the dev questions of both benchmarks, report cross-validated
figures, and write `retrieval/answer/ranker.json`.

    python bench/train_ranker.py [--index DIR] [--folds 5] [--no-write] [--keep-network]
                                 [--reader-folds DIR]

The index must hold both benchmark corpora (`python bench/answers.py` builds it). The
ranker averages the scores of several two-layer networks (``--networks``, one per seed),
each trained listwise (softmax over each question's candidate sentences, the
answer-bearing ones as targets); its confidence is a logistic calibration
(inputs in `retrieval.answer.ranker.CALIBRATION_INPUTS`) of whether the corpus searched
answers the question, fitted on questions asked of a corpus that does and of corpora that
do not: every third question is also asked of the other benchmark's documents only (a far
miss), and every third (another third) of its own corpus without the passages that hold
its answer (a near miss: the topic is there, the detail is not). Each benchmark weighs the
same in the calibration. Folds are by question (a question and its misses share one), for
the ranker and the calibration alike, so every reported figure comes from models that
never saw the question. As in answers, copies of the top sentence in other documents are
set aside for the confidence, and an independent report agreeing with the quote raises it
(`engine.second_report`, with the fold's calibration). A hit is counted as
`bench/quality.py` and replies do: a gold answer in the quote the engine would give (its
choice of sentence and neighbour, `engine.chosen`) or, for "when" questions, in the
quoted story's date.

With ``--reader-folds`` (the fold readers of `bench/train_reader.py --save-folds`), it
also fits how the quote is chosen when the reader reads each question's best sentences
(`fit_reading`): the reader's weight and the neighbour margin, written as `with_reader`.
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
from train_span import fold_of

from retrieval.answer.engine import (
    agreed,
    chosen,
    confidence_inputs,
    gather,
    quote,
    read,
    second_report,
)
from retrieval.answer.evaluate import AnswerFree, hit, read_questions
from retrieval.answer.features import FEATURES, Candidate, featurize
from retrieval.answer.qa import QA
from retrieval.answer.ranker import (
    CALIBRATION_INPUTS,
    RANKER_PATH,
    Ranker,
    Reading,
    check_features,
)
from retrieval.answer.reader import Reader, read_weights
from retrieval.answer.span import holds_count
from retrieval.dates import asked_on, parse_day
from retrieval.search.lexical import Lexical
from retrieval.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "eval"
SETS = ("rtqa", "squad")
# Every Nth question is also asked of the other benchmark's documents only (n % N == 0),
# and every Nth of its own corpus without the passages holding its answer (n % N == 1):
# questions the corpus does not answer, which the calibration must learn to abstain on.
OUT_OF_CORPUS_EVERY = 3
CACHE_LAYOUT = 3  # rows: (set, question, Gathered); sets "rtqa", "rtqa-out", "rtqa-near", ...


def gathered(qa: QA, cache: Path | None):  # type: ignore[no-untyped-def]
    """Retrieval results of every dev question (cached: they do not depend on features)."""
    version = qa.version
    if cache and cache.exists():
        saved = pickle.loads(cache.read_bytes())
        if saved["version"] == version and saved.get("layout") == CACHE_LAYOUT:
            return saved["rows"]
    rows = []
    started = time.perf_counter()
    chunk_set = np.array([c.doc_id.split("-")[0] for c in qa.retriever.index.chunks])
    answer_free = AnswerFree(*qa.retriever.index.lexical_columns())
    for name in SETS:
        other = chunk_set != name  # the other benchmark's documents only
        for n, q in enumerate(read_questions(SHARED / name / "questions-dev.jsonl")):
            asked = asked_on(parse_day(q.date)) if q.date else None
            rows.append((name, q, gather(qa.retriever, q.question, asked_at=asked)))
            if n % OUT_OF_CORPUS_EVERY == 0:
                g = gather(qa.retriever, q.question, asked_at=asked, allowed=other)
                rows.append((f"{name}-out", q, g))
            elif n % OUT_OF_CORPUS_EVERY == 1:
                free = answer_free.allowed(q.answers)
                g = gather(qa.retriever, q.question, asked_at=asked, allowed=free)
                rows.append((f"{name}-near", q, g))
    print(f"retrieved for {len(rows)} questions in {time.perf_counter() - started:.0f}s")
    if cache:
        cache.write_bytes(pickle.dumps({"version": version, "layout": CACHE_LAYOUT, "rows": rows}))
    return rows


def train(xs: list[np.ndarray], ys: list[np.ndarray], mean: np.ndarray, scale: np.ndarray,
          hidden: int, epochs: int, seed: int = 0, batch: int = 32) -> Ranker:  # fmt: skip
    """One network, trained listwise: each step is a batch of questions padded into one
    tensor (padding is masked out of both softmaxes)."""
    torch.manual_seed(seed)
    f = len(FEATURES)
    net = torch.nn.Sequential(
        torch.nn.Linear(f, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    data = [((x - mean) / scale, y) for x, y in zip(xs, ys, strict=True) if len(x) and y.any()]
    rng = np.random.default_rng(seed)
    masked = torch.tensor(-1e9)
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for b in range(0, len(order), batch):
            part = [data[j] for j in order[b : b + batch]]
            width = max(len(x) for x, _ in part)
            xb = np.zeros((len(part), width, f), np.float32)
            valid = np.zeros((len(part), width), bool)
            gold = np.zeros((len(part), width), bool)
            for r, (x, y) in enumerate(part):
                xb[r, : len(x)], valid[r, : len(x)], gold[r, : len(x)] = x, True, y
            s = net(torch.from_numpy(xb)).squeeze(-1)
            all_ = torch.logsumexp(torch.where(torch.from_numpy(valid), s, masked), 1)
            good = torch.logsumexp(torch.where(torch.from_numpy(gold), s, masked), 1)
            opt.zero_grad()
            ((all_ - good).sum() / batch).backward()
            opt.step()
    w1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    w2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    return Ranker(mean, scale, w1[None], b1[None], w2, b2)


def train_networks(xs: list[np.ndarray], ys: list[np.ndarray], mean: np.ndarray,
                   scale: np.ndarray, args: argparse.Namespace) -> Ranker:  # fmt: skip
    """``args.networks`` networks from seeds 0, 1, ..., averaged."""
    nets = [
        train(xs, ys, mean, scale, args.hidden, args.epochs, seed) for seed in range(args.networks)
    ]
    return Ranker.stack(nets)


def calibrate(inputs: np.ndarray, answerable: np.ndarray, weights: np.ndarray) -> tuple[float, ...]:
    """Logistic regression of "the corpus searched answers the question" on calibration
    inputs (standardised for the fit, weights returned for the raw inputs), then the bias."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = inputs.mean(0), inputs.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(max_iter=2000).fit(
        (inputs - mean) / scale, answerable, sample_weight=weights
    )
    w = model.coef_[0] / scale
    return (*(float(v) for v in w), float(model.intercept_[0] - np.dot(w, mean)))


def apply_calibration(calibration: tuple[float, ...], inputs: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(inputs @ np.array(calibration[:-1]) + calibration[-1])))


def quoted(g, scores: np.ndarray, margin: float, lexical: Lexical,  # type: ignore[no-untyped-def]
           ranked: np.ndarray) -> tuple[str, Candidate]:  # fmt: skip
    """The quote a reply would give (the engine's choice of sentence and neighbour)."""
    best, partner = chosen(g.info, g.candidates, scores, margin, lexical, ranked)
    return quote(best, partner)[0], best


def quote_hit(g, text: str, best: Candidate, answers) -> bool:  # type: ignore[no-untyped-def]
    """As replies count: a gold answer in the quote, or for "when" in the story's date."""
    return hit(text, answers) or (g.info.wh == "when" and hit(best.hit.date, answers))


def choose_neighbour_margin(
    qa: QA,
    rows,
    cv_scores,
    answered,
    names,  # type: ignore[no-untyped-def]
    ranked,
    max_median: float = 35.0,
) -> tuple[float, np.ndarray]:
    """The widest score margin for quoting an adjacent sentence too that keeps the median
    answer within ``max_median`` words on every set (answers as the engine words them,
    the quote picked by ``ranked``: the scores, or with the reader's added)."""
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
                text, best = quoted(g, cv_scores[i], margin, qa.retriever.lexical, ranked[i])
                hits[i] = quote_hit(g, text, best, q.answers)
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


# A calibration, its threshold, the neighbour margin, and the report of answers with them.
Fit = tuple[tuple[float, ...], float, float, dict]


def fit_confidence(qa: QA, rows, xs: list[np.ndarray], ys: list[np.ndarray],  # type: ignore[no-untyped-def]
                   cv_scores: list[np.ndarray], fold: np.ndarray, args: argparse.Namespace,
                   quote_scores: list[np.ndarray] | None = None) -> Fit:  # fmt: skip
    """The calibration and threshold fitted on held-out ranker scores ``cv_scores``, the
    neighbour margin for quotes chosen by ``quote_scores`` (the ranker's own, or with the
    reader's added), and the cross-validated report of answers given with them."""
    quote_scores = cv_scores if quote_scores is None else quote_scores
    names = np.array([name for name, _, _ in rows])
    in_corpus = np.isin(names, SETS)
    inputs = np.zeros((len(rows), len(CALIBRATION_INPUTS)))
    hits = np.zeros(len(rows), dtype=bool)
    for i, (_, _, g) in enumerate(rows):
        if len(cv_scores[i]):
            inputs[i] = confidence_inputs(  # as answers weigh them
                g.info, qa.retriever.lexical, g.candidates, cv_scores[i], xs[i]
            )
            hits[i] = ys[i][int(np.argmax(quote_scores[i]))]
        else:
            inputs[i] = (-10.0, *[0.0] * (len(CALIBRATION_INPUTS) - 1))
    # Calibrate on the held-out fold outputs: asked of a corpus holding the answer or not.
    # Each benchmark (its questions and their misses) weighs the same; the calibration,
    # too, is cross-validated by question before the threshold is set.
    answerable = in_corpus
    weights = np.zeros(len(rows))
    for name in SETS:
        mine = np.array([n.split("-")[0] == name for n in names])
        weights[mine] = len(rows) / (len(SETS) * mine.sum())
    conf = np.zeros(len(rows))
    fold_calib = []
    for k in range(args.folds):
        fold_calib.append(calibrate(inputs[fold != k], answerable[fold != k], weights[fold != k]))
        conf[fold == k] = apply_calibration(fold_calib[k], inputs[fold == k])
    calib = calibrate(inputs, answerable, weights)
    # One threshold for every set, low enough that each answers at least --answered.
    threshold = min(float(np.quantile(conf[names == n], 1 - args.answered)) for n in SETS)
    answered = conf >= threshold
    neighbour, quote_hits = choose_neighbour_margin(
        qa, rows, cv_scores, answered, names, quote_scores
    )
    # As answers do: an independent report agreeing with the quote raises its confidence.
    agreeing = 0
    for i, (_, _, g) in enumerate(rows):
        if not len(cv_scores[i]):
            continue
        best, _ = chosen(
            g.info, g.candidates, cv_scores[i], neighbour, qa.retriever.lexical, quote_scores[i]
        )
        rest = second_report(g.info, g.candidates, cv_scores[i], best)
        if rest is not None:
            others = [g.candidates[j] for j in rest]
            second = apply_calibration(
                fold_calib[fold[i]],
                confidence_inputs(
                    g.info, qa.retriever.lexical, others, cv_scores[i][rest], xs[i][rest]
                ),
            )
            agreeing += second >= threshold
            conf[i] = agreed(float(conf[i]), float(second), threshold)
    answered = conf >= threshold
    print(f"an agreeing independent report raised the confidence of {agreeing} questions")
    # As answers do: a "how many" quote that gives no count is no answer (`holds_count`).
    # Every answered question is quoted here, the out-of-corpus and answer-removed ones
    # too, which choose_neighbour_margin does not quote.
    uncounted = 0
    for i in np.flatnonzero(answered):
        _, _, g = rows[i]
        text, _ = quoted(g, cv_scores[i], neighbour, qa.retriever.lexical, quote_scores[i])
        if not holds_count(g.info.text, text):
            answered[i] = False
            uncounted += 1
    print(f'{uncounted} quotes gave no count for a "how many" question and were withdrawn')
    report = {}
    for name in SETS:
        m = names == name
        report[name] = {
            "questions": int(m.sum()),
            "top1_sentence_hit": float(hits[m].mean()),
            "hit_rate": float((quote_hits & answered)[m].mean()),
            "answered_rate": float(answered[m].mean()),
            "precision": float(quote_hits[m & answered].mean()),
            "oracle": float(np.mean([ys[i].any() for i in np.flatnonzero(m)])),
            "out_of_corpus_abstained": float((~answered)[names == f"{name}-out"].mean()),
            "near_miss_abstained": float((~answered)[names == f"{name}-near"].mean()),
        }
    print(f"cross-validated ({args.folds} folds by question), threshold {threshold:.3f}:")
    print(json.dumps(report, indent=1))

    return calib, threshold, neighbour, report


READER_WEIGHTS = (0.5, 0.75, 1.0)  # the reader's weights tried beside the ranker's score


def fit_reading(qa: QA, rows, xs: list[np.ndarray], ys: list[np.ndarray],  # type: ignore[no-untyped-def]
                cv_scores: list[np.ndarray], fold: np.ndarray,
                args: argparse.Namespace) -> tuple[Reading, dict]:  # fmt: skip
    """The ranker as used with the reader: each question's best sentences are read
    (`engine.read`) by the reader of the fold that never saw its document
    (``--reader-folds``, written by `bench/train_reader.py --save-folds`), and the quote
    is chosen by the scores with the reader's added; the reader's weight is the one of
    READER_WEIGHTS with the best hit rate over both benchmarks, with the neighbour margin
    fitted again. The confidence stays the ranker's own (see `Ranker.with_reader`)."""
    folder: Path = args.reader_folds
    files = sorted(folder.glob("fold-*.npz"))
    if not files:
        raise SystemExit(f"no fold-K.npz files in {folder}: run bench/train_reader.py --save-folds")
    count = int(json.loads(str(read_weights(files[0])["meta"]))["folds"])
    readers: dict[int, Reader] = {}
    started = time.perf_counter()
    added = []  # per question, what the reader adds to each candidate's score at weight 1
    for i, (_, q, g) in enumerate(rows):
        if not len(cv_scores[i]):
            added.append(cv_scores[i])
            continue
        k = fold_of(q.doc_id or "", count)
        if k not in readers:
            readers[k] = Reader.load(qa.settings.model, qa.settings.model_cache,
                                     folder / f"fold-{k}.npz")  # fmt: skip
        added.append(read(g.info, g.candidates, cv_scores[i], readers[k], 1.0) - cv_scores[i])
    print(f"read the best sentences of {len(rows)} questions in "
          f"{time.perf_counter() - started:.0f}s")  # fmt: skip
    best: tuple[float, Reading, dict] | None = None
    for w in READER_WEIGHTS:
        print(f"-- reader weight {w}")
        scores = [s + w * a for s, a in zip(cv_scores, added, strict=True)]
        _, _, neighbour, report = fit_confidence(qa, rows, xs, ys, cv_scores, fold, args, scores)
        rate = float(np.mean([report[name]["hit_rate"] for name in SETS]))
        if best is None or rate > best[0]:
            best = rate, Reading(w, neighbour), report
    assert best is not None
    print(f"chosen reader weight {best[1].weight}")
    return best[1], best[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench-index")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--networks", type=int, default=5,
                        help="networks (seeds) whose scores the ranker averages")  # fmt: skip
    parser.add_argument("--answered", type=float, default=0.93,
                        help="answered rate the abstain threshold is set for")  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("/tmp/newsqa-gathered.pkl"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--reader-folds", type=Path, metavar="DIR",
                        help="fit the ranker's use with the reader too, on held-out "
                             "reader scores (bench/train_reader.py --save-folds)")  # fmt: skip
    parser.add_argument("--gold-only", action=argparse.BooleanOptionalAction, default=True,
                        help="train on answer sentences of the gold document only")  # fmt: skip
    parser.add_argument("--keep-network", action="store_true",
                        help="ship the network of the current ranker file; refit only the "
                             "calibration, threshold and neighbour margin")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)

    settings = replace(load_settings(env_file=None), index_dir=args.index)
    f = len(FEATURES)
    placeholder = Ranker(np.zeros(f, np.float32), np.ones(f, np.float32),
                         np.zeros((1, 1, f), np.float32), np.zeros((1, 1), np.float32),
                         np.zeros((1, 1), np.float32), np.zeros(1, np.float32))  # fmt: skip
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
    started = time.perf_counter()
    for k in range(args.folds):
        train_ids = [i for i in range(len(rows)) if fold[i] != k and in_corpus[i]]
        ranker = train_networks([xs[i] for i in train_ids], [targets[i] for i in train_ids],
                                mean, scale, args)  # fmt: skip
        for i in np.flatnonzero(fold == k):
            if len(xs[i]):
                cv_scores[i] = ranker.scores(xs[i])
    print(f"cross-validation trained in {time.perf_counter() - started:.0f}s")
    calib, threshold, neighbour, report = fit_confidence(qa, rows, xs, ys, cv_scores, fold, args)
    with_reader = None
    if args.reader_folds:
        with_reader, report["with_reader"] = fit_reading(qa, rows, xs, ys, cv_scores, fold, args)

    saved = json.loads(RANKER_PATH.read_text())
    if args.keep_network:
        # The figures above come from networks trained per fold either way; keeping the
        # shipped one keeps answers on other corpora from moving with retraining noise.
        # Read the networks alone: the file's calibration may be over other inputs.
        check_features(saved.get("features"), RANKER_PATH)
        final = Ranker(*(np.asarray(saved[k], np.float32)
                         for k in ("mean", "scale", "w1", "b1", "w2", "b2")))  # fmt: skip
        trained = {k: saved[k] for k in ("hidden", "epochs") if k in saved}
    else:
        keep = np.flatnonzero(in_corpus)
        final = train_networks([xs[i] for i in keep], [targets[i] for i in keep], mean, scale,
                               args)  # fmt: skip
        trained = {"hidden": args.hidden, "epochs": args.epochs}
    final = replace(final, calibration=calib, threshold=threshold, neighbour_margin=neighbour,
                    with_reader=with_reader)  # fmt: skip
    if not args.no_write:
        final.save(RANKER_PATH, {"cross_validated": report, **trained})
        print(f"wrote {RANKER_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
