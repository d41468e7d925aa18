"""Fine-tune the packaged MiniLM as the answer reader, report cross-validated span figures,
and write `retrieval/answer/reader.npz`.

    python bench/train_reader.py [--shared DIR] [--folds 5] [--only-folds 0,1] [--no-write]

The examples are the span scorer's (`bench/train_span.py`): the answer-holding sentences
of each dev question's gold document, with every candidate phrase labelled by whether it
holds a gold answer; and, for each question, the sentence of its gold document that holds
no gold answer but shares the most content words with the question (`negatives`). The
question and the sentence are read together; a candidate scores the start score of its
first word piece plus the end score of its last, and "no answer here" (the null) the
[CLS] piece's. The model (transformer layers and head; the word embeddings stay as
packaged) is fitted listwise, softmax over a sentence's candidates and its null: the
answer-holding candidates are the targets of an answer sentence, the null of a sentence
without one. So the best candidate of a sentence that is on the story but does not say
what was asked scores low, and the engine, which adds that score to the ranker's
(`engine.read`), is drawn to the sentence that answers. Folds are by document, as the
span scorer's; each fold fits the span scorer on the same training documents, so the
figures compare

- the span scorer as the engine uses it (today's bold span without the reader),
- the reader alone (its best candidate), and
- the reader alone with the engine's rules (a name for "who", the number for "how many"),
- both, the reader's score weighted by each of `WEIGHTS` (the engine's is
  `retrieval.answer.span.READER_WEIGHT`),

and how often an answer sentence's best candidate scores above that of a held-out sentence
without an answer (AUC), alone and less the null.

``--fold-readers DIR`` fits nothing: it scores each fold with the reader saved by
``--save-folds`` in DIR, exported and quantised as the engine runs it (about 7 minutes for
all folds; no AUC, as the engine's reader gives no null score).

About 15 minutes a fit on two cores (2 epochs over ~15,300 sentences); ``--only-folds``
runs some folds, so that the cross-validation can be split across runs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from train_span import SETS, SHARED, Example, corpus, examples, fit, fold_of, report, verb_words

from retrieval.answer import phrases
from retrieval.answer.evaluate import hit, read_questions
from retrieval.answer.question import analyse
from retrieval.answer.reader import (
    MAX_TOKENS,
    READER_PATH,
    Reader,
    candidate_tokens,
    pair_encoding,
)
from retrieval.answer.span import (
    ALL_Q,
    NAMES_ONLY,
    READER_WEIGHT,
    TYPED_FALLBACK,
    choose,
    span_phrases,
    typed_span,
    whole_name_end,
    with_article,
)
from retrieval.encoder.base import resolve_model
from retrieval.encoder.onnx import model_tokenizer
from retrieval.encoder.onnx_export import reader_model
from retrieval.ingest.sentences import sentence_spans
from retrieval.settings import DEFAULT_MODEL, load_settings

EPOCHS = 2
BATCH = 16  # sentences
LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01
WARMUP = 0.1  # share of the steps over which the learning rate rises
BUCKET = 20  # batches drawn together and sorted by length, so that a batch pads little
WEIGHTS = (0.5, 1.0, READER_WEIGHT, 4.0)  # the reader's weight beside the span scorer's
NEGATIVES_PER_QUESTION = 1  # sentences of the gold document without an answer


Encoded = tuple[list[int], list[int], np.ndarray, np.ndarray]  # ids, types, starts, ends


def negatives(
    shared: Path, name: str, docs: dict[str, str], verbs: frozenset[str]
) -> list[Example]:
    """For each dev question, the sentences of its gold document that hold no gold answer
    and share the most content words with the question: the sentences of the right story
    that do not say what was asked, which the reader learns to score below its null."""
    out = []
    for q in read_questions(shared / "eval" / name / "questions-dev.jsonl"):
        text = docs.get(q.doc_id or "")
        if text is None or not q.answers:
            continue
        info = analyse(q.question)
        asked = {t.lower for t in phrases.tokens(q.question)} - phrases.FUNCTION
        near = []
        for s, e in sentence_spans(text):
            sentence = text[s:e]
            if not hit(sentence, q.answers):
                shared_words = {t.lower for t in phrases.tokens(sentence)} & asked
                near.append((-len(shared_words), s, sentence))
        for _, _, sentence in sorted(near)[:NEGATIVES_PER_QUESTION]:
            ph = span_phrases(info, sentence, verbs)
            keep = np.flatnonzero(ph.rows[:, ALL_Q] == 0)
            out.append(Example(name, q.doc_id or "", q.question,
                               phrases.wh_group(info.wh, info.text), sentence, q.answers,
                               typed_span(info, sentence), [ph.span(int(k)) for k in keep],
                               ph.rows[keep], np.zeros(len(keep))))  # fmt: skip
    return out


def encode(tokenizer: object, exs: Sequence[Example]) -> list[Encoded]:
    out = []
    for ex in exs:
        e = pair_encoding(tokenizer, ex.question, ex.sentence)
        starts, ends = candidate_tokens(e, ex.spans)
        out.append((list(e.ids), list(e.type_ids), starts, ends))
    return out


def _padded(rows: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    longest = max(len(r[0]) for r in rows)
    ids = torch.zeros(len(rows), longest, dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for k, (i, t, _, _) in enumerate(rows):
        ids[k, : len(i)], types[k, : len(i)] = torch.tensor(i), torch.tensor(t)
        mask[k, : len(i)] = 1
    return ids, mask, types


def _candidates(logits: torch.Tensor, row: Encoded) -> torch.Tensor:
    return logits[torch.from_numpy(row[2]), 0] + logits[torch.from_numpy(row[3]), 1]


def _order(rows: Sequence[Encoded], useful: list[int], rng: np.random.Generator) -> list[list[int]]:
    """The batches of ``EPOCHS`` passes: shuffled, then sorted by length within buckets."""
    batches: list[list[int]] = []
    for _ in range(EPOCHS):
        order = rng.permutation(useful)
        for at in range(0, len(order), BATCH * BUCKET):
            part = sorted(order[at : at + BATCH * BUCKET], key=lambda i: len(rows[i][0]))
            chunk = [part[j : j + BATCH] for j in range(0, len(part), BATCH)]
            batches.extend(chunk[j] for j in rng.permutation(len(chunk)))
    return batches


def train(
    model_dir: Path, exs: Sequence[Example], rows: Sequence[Encoded], negative: Sequence[bool]
) -> torch.nn.Module:
    """The reader fitted on ``exs`` (AdamW, linear warm-up then decay): softmax over each
    sentence's candidates and its null (the [CLS] piece's start plus end score), the
    answer-holding candidates the targets of an answer sentence, the null of a
    ``negative`` one."""
    torch.manual_seed(0)
    model = reader_model(model_dir)
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    useful = [i for i, ex in enumerate(exs) if ex.labels.any() or negative[i]]
    batches = _order(rows, useful, np.random.default_rng(0))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    steps = len(batches)
    warm = WARMUP * steps + 1
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / warm) * (1 - s / steps))
    model.train()
    started = time.perf_counter()
    for step, batch in enumerate(batches):
        logits = model(*_padded([rows[i] for i in batch]))
        loss = torch.zeros(())
        for k, i in enumerate(batch):
            z = _candidates(logits[k], rows[i])
            null = logits[k, 0, 0] + logits[k, 0, 1]
            total = torch.logsumexp(torch.cat([z, null[None]]), 0)
            if negative[i]:
                loss = loss - (null - total)
            else:
                y = torch.from_numpy(exs[i].labels.astype(bool))
                loss = loss - (torch.logsumexp(z[y], 0) - total)
        opt.zero_grad()
        (loss / len(batch)).backward()
        opt.step()
        sched.step()
        if step % 200 == 0:
            print(f"  step {step}/{steps}, {time.perf_counter() - started:.0f}s", flush=True)
    model.eval()
    return model


@torch.no_grad()
def candidate_scores(
    model: torch.nn.Module, rows: Sequence[Encoded]
) -> tuple[list[np.ndarray], list[float]]:
    """Each sentence's candidate scores, and its null score."""
    out, nulls = [], []
    for at in range(0, len(rows), 64):
        part = rows[at : at + 64]
        logits = model(*_padded(part))
        out.extend(_candidates(logits[k], r).numpy() for k, r in enumerate(part))
        nulls.extend(float(logits[k, 0, 0] + logits[k, 0, 1]) for k in range(len(part)))
    return out, nulls


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    p, n = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / max(1, p.size * n.size))


def picked(
    ex: Example, scores: np.ndarray, rules: bool = True, whole: bool = False
) -> tuple[int, int] | None:
    """The span of the best candidate: with ``rules``, chosen as the engine chooses (an
    article before it joins it but for a count, `span.with_article`); with ``whole``, a
    name is not cut (`span.whole_name_end`, as the engine does with a reader)."""
    if not len(scores):
        return None
    if not rules:
        return ex.spans[int(np.argmax(scores))]
    c = choose(ex.group, ex.sentence, ex.rows, ex.spans, scores, ex.typed)
    if c is None:
        c = ex.typed if ex.group in TYPED_FALLBACK else None
    elif whole and ex.group != "how_many" and not (ex.group in NAMES_ONLY and ex.typed):
        c = c[0], whole_name_end(ex.sentence, c[1])
    if c is None or ex.group == "how_many":
        return c
    return with_article(ex.sentence, c[0]), c[1]


def weights_file(
    model_dir: Path, model: torch.nn.Module, path: Path, note: dict[str, object]
) -> None:
    """Save the change to the transformer layers (int8 per row for matrices) and the head."""
    base = reader_model(model_dir).state_dict()
    arrays: dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        if name.startswith("head."):
            arrays[name] = value.numpy().astype(np.float32)
        elif name.startswith("bert.encoder."):
            delta = (value - base[name]).numpy().astype(np.float32)
            if delta.ndim == 2:
                scale = np.abs(delta).max(axis=1) / 127 + 1e-12
                arrays[f"{name}.q"] = np.round(delta / scale[:, None]).astype(np.int8)
                arrays[f"{name}.scale"] = scale.astype(np.float32)
            else:
                arrays[f"{name}.delta"] = delta
    meta = {"format": 1, "model": DEFAULT_MODEL, **note}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", default="", help="comma-separated folds to run")
    parser.add_argument("--no-write", action="store_true", help="report only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--oof", type=Path, help="save the held-out reader scores (.npz)")
    parser.add_argument("--save-folds", type=Path, metavar="DIR",
                        help="save each fold's reader as DIR/fold-K.npz (for "
                             "bench/train_ranker.py --reader-folds)")  # fmt: skip
    parser.add_argument("--fold-readers", type=Path, metavar="DIR",
                        help="score with the fold readers saved in DIR (by --save-folds), "
                             "run as the engine runs them, instead of fitting")  # fmt: skip
    args = parser.parse_args()
    if args.fold_readers:
        args.no_write = True
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model_dir = Path(resolve_model(DEFAULT_MODEL))
    tokenizer = model_tokenizer(model_dir, MAX_TOKENS)
    docs = {name: corpus(args.shared, name) for name in SETS}
    verbs = verb_words([t for name in SETS for t in docs[name].values()])
    every = [ex for name in SETS for ex in examples(args.shared, name, docs[name], verbs)]
    wrong = [ex for name in SETS for ex in negatives(args.shared, name, docs[name], verbs)]
    both = every + wrong
    negative = [False] * len(every) + [True] * len(wrong)
    rows = [] if args.fold_readers else encode(tokenizer, both)  # the fit's word pieces
    print(f"{len(every)} answer sentences, {len(wrong)} without one, "
          f"in {time.perf_counter() - started:.0f}s", flush=True)  # fmt: skip
    runs = [int(k) for k in args.only_folds.split(",") if k] or list(range(args.folds))
    scored: dict[int, dict[str, tuple[int, int] | None]] = {}
    held_out: dict[str, np.ndarray] = {}
    margins: dict[int, tuple[float, float]] = {}  # best candidate minus null; best alone
    for k in runs if args.folds > 1 else []:
        train_ids = [i for i, ex in enumerate(both) if fold_of(ex.doc, args.folds) != k]
        test_ids = [i for i, ex in enumerate(both) if fold_of(ex.doc, args.folds) == k]
        if args.fold_readers:
            # The saved fold reader as the engine runs it (int8 ONNX); it gives no null.
            weights = args.fold_readers / f"fold-{k}.npz"
            onnx = Reader.load(DEFAULT_MODEL, load_settings(env_file=None).model_cache, weights)
            reader = []
            for i in test_ids:
                ex = both[i]
                reader.append(
                    np.zeros(0) if negative[i] else onnx.scores(ex.question, ex.sentence, ex.spans)
                )
            nulls = [0.0] * len(test_ids)
        else:
            model = train(
                model_dir,
                [both[i] for i in train_ids],
                [rows[i] for i in train_ids],
                [negative[i] for i in train_ids],
            )
            reader, nulls = candidate_scores(model, [rows[i] for i in test_ids])
        if args.save_folds and not args.fold_readers:
            args.save_folds.mkdir(parents=True, exist_ok=True)
            note = {"folds": args.folds, "held_out": k, "epochs": EPOCHS}
            weights_file(model_dir, model, args.save_folds / f"fold-{k}.npz", note)
        scorer = fit([both[i] for i in train_ids if not negative[i]], verbs)
        torch.set_num_threads(args.threads)  # the span scorer's fit runs on one
        for i, z, null in zip(test_ids, reader, nulls, strict=True):
            best = float(z.max()) if len(z) else -np.inf
            if not args.fold_readers:
                margins[i] = (best - null, best)
            if negative[i]:
                continue
            ex = both[i]
            held_out[str(i)] = z
            s = scorer.score(ex.rows, ex.group) if len(ex.rows) else np.zeros(0)
            scored[i] = {
                "span scorer (engine without reader)": picked(ex, s),
                "reader alone": picked(ex, z, rules=False),
                "reader, engine's rules": picked(ex, z),
                **{f"scorer + {w} x reader": picked(ex, s + w * z, whole=True) for w in WEIGHTS},
            }
        print(f"fold {k} done, {time.perf_counter() - started:.0f}s", flush=True)
        if args.oof:
            np.savez_compressed(args.oof, **held_out)  # type: ignore[arg-type]
    for name in SETS:
        ids = [i for i in scored if every[i].bench == name]
        for way in next(iter(scored.values()), {}):
            exs = [every[i] for i in ids]
            print(report(f"{name}: {way}", exs, [scored[i][way] for i in ids]))
        ids = [i for i in margins if both[i].bench == name]
        if not ids:  # --fold-readers: no null score, no AUC
            continue
        for way, at in (("best candidate minus null", 0), ("best candidate alone", 1)):
            yes = [margins[i][at] for i in ids if not negative[i]]
            no = [margins[i][at] for i in ids if negative[i]]
            print(f"{name}: answer sentence above one without, by {way}: AUC {auc(yes, no):.3f}")
    if not args.no_write:
        model = train(model_dir, both, rows, negative)
        note = {"trained_on": list(SETS), "epochs": EPOCHS, "learning_rate": LEARNING_RATE}
        weights_file(model_dir, model, READER_PATH, note)
        print(f"wrote {READER_PATH} in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
