"""Follow-up questions in conversation, against the same questions alone and in full.

    python bench/conversations.py [--index DIR] [--limit N] [--tune 0,0.1,0.2] [--json]

Builds (or updates) an index of `../shared/data/eval/squad/corpus.jsonl`, then answers the
two-turn conversations of `../shared/data/eval/conv/questions-dev.jsonl` (see its README)
and prints, in one run, hit rates (a gold answer string inside the quoted answer) of:

  first turns            turn 1 alone, and as the first turn of a conversation
  follow-ups  alone      turn 2 asked with no context (the baseline)
              in full    turn 2 as first written, subject spelt out (the ceiling)
              in conv.   turn 2 after turn 1, read with the conversation's context
  switches    alone      a complete question on another topic, asked alone
              in conv.   the same after turn 1 (must not be pulled off course)

and the latency a conversation adds to a follow-up: each follow-up is answered alone and
in conversation back to back, and the p50 of the paired differences is reported.

--synthetic N: instead of the conv dev set, N conversations built the same way from the
squad dev questions that the conv set does not use (its reading rules were written while
reading the conv set's misses; these questions were never read): a question naming the
story's subject (its title, or the title's last word: "Tesla"), then another of the same
story with that name replaced by "it", "its" or "there"; a third of them are topic
switches (a question of another story). Scored the same way.

--tune W1,W2,...: the weight given to the earlier turn's stories is learnt by two-fold
cross-validation over conversations: each half is scored with the weight that did best
on the other half, so no figure comes from a weight chosen on its own questions.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.answer.engine import Answer
from retrieval.answer.evaluate import hit
from retrieval.answer.qa import QA
from retrieval.converse import Turn, respond
from retrieval.converse.respond import PREFER_WEIGHT
from retrieval.errors import BadQuestionError
from retrieval.index.build import build_index
from retrieval.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "data" / "eval"


@dataclass(frozen=True)
class Conv:
    cid: str
    kind: str  # "follow-up" | "switch"
    first: dict[str, object]
    second: dict[str, object]


def read_conversations(path: Path) -> list[Conv]:
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[str(row["conversation"])].append(row)
    out = []
    for cid, turns in rows.items():
        if len(turns) == 2:
            out.append(Conv(cid, str(turns[1]["kind"]), turns[0], turns[1]))
    return out


def synthetic_conversations(n: int, seed: int = 7) -> list[Conv]:
    """Two-turn conversations from squad dev questions the conv set leaves out."""
    conv = [json.loads(x) for x in (EVAL / "conv" / "questions-dev.jsonl").open(encoding="utf-8")]
    used = {r["question"] for r in conv} | {r.get("original") for r in conv}
    titles = {}
    for line in (EVAL / "squad" / "corpus.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        titles[doc["id"]] = re.sub(r"\s*\(.*\)", "", doc["title"])
    by_doc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for line in (EVAL / "squad" / "questions-dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if row["question"] not in used:
            by_doc[str(row["doc_id"])].append(row)
    rng = random.Random(seed)

    def naming(row: dict[str, object], title: str) -> re.Match[str] | None:
        forms = [title] + ([title.split()[-1]] if len(title.split()) > 1 else [])
        for form in forms:
            if m := re.search(rf"\b{re.escape(form)}\b(['’]s)?", str(row["question"])):
                return m
        return None

    follow, pool = [], []
    for doc, rows in sorted(by_doc.items()):
        named = [r for r in rows if naming(r, titles[doc])]
        rng.shuffle(named)
        pool.extend(rows)
        for a, b in zip(named[0::2], named[1::2], strict=False):
            m = naming(b, titles[doc])
            assert m is not None
            text = str(b["question"])
            before, after = text[: m.start()].rstrip(), text[m.end() :]
            if m.group(1):
                pronoun = "its"
            elif re.search(r"\b(?:in|at)$", before, re.I):
                before, pronoun = before[:-2].rstrip(), "there"
            else:
                before, pronoun = re.sub(r"\bthe$", "", before, flags=re.I).rstrip(), "it"
            second = (
                f"{before} {pronoun}{after}".strip() if before else pronoun.capitalize() + after
            )
            b2 = dict(b, question=second, original=text)
            follow.append(Conv(f"s{len(follow)}", "follow-up", a, b2))
    rng.shuffle(follow)
    follow = follow[: n - n // 3]
    switches = []
    while len(switches) < n // 3:
        a, b = rng.sample(pool, 2)
        if a["doc_id"] != b["doc_id"]:
            switches.append(Conv(f"t{len(switches)}", "switch", a, b))
    return follow + switches


def ensure_index(index_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        (corpus / "squad.jsonl").symlink_to(EVAL / "squad" / "corpus.jsonl")
        settings = replace(load_settings(env_file=None), corpus_dir=corpus, index_dir=index_dir)
        report = build_index(settings, progress=True)
        print(f"index: {report.documents} documents, {report.chunks} chunks", file=sys.stderr)


def scored(answer: Answer | None, row: dict[str, object]) -> bool:
    text = None if answer is None or answer.abstained else answer.text
    return hit(text, [str(a) for a in row["answers"]])  # type: ignore[attr-defined]


def ask_alone(qa: QA, question: str) -> Answer | None:
    """The answer to ``question`` with no context; None for one that names nothing to look
    up ("Who did it?"), which the bot answers with a request to say what is meant."""
    try:
        return qa.answer(question)
    except BadQuestionError:
        return None


def pct(flags: Sequence[bool]) -> float:
    return 100.0 * sum(flags) / len(flags) if flags else float("nan")


def in_conversation(qa: QA, convs: Sequence[Conv], firsts: dict[str, Turn],
                    weight: float) -> dict[str, bool]:  # fmt: skip
    out = {}
    for c in convs:
        turn = respond(qa, [firsts[c.cid]], str(c.second["question"]), prefer_weight=weight)
        out[c.cid] = scored(turn.answer, c.second)
    return out


def cross_validate(convs: Sequence[Conv], by_weight: dict[float, dict[str, bool]]) -> tuple[
    dict[str, bool], list[float]
]:  # fmt: skip
    """Each conversation scored with the weight that did best on the other fold."""
    folds = [{c.cid for i, c in enumerate(convs) if i % 2 == k} for k in (0, 1)]
    out: dict[str, bool] = {}
    chosen = []
    for k in (0, 1):
        train = folds[1 - k]
        best = max(by_weight, key=lambda w: (sum(by_weight[w][c] for c in train), -w))
        chosen.append(best)
        out.update({c: by_weight[best][c] for c in folds[k]})
    return out, chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "var" / "conv-index")
    parser.add_argument("--limit", type=int, help="first N conversations")
    parser.add_argument("--tune", help="comma-separated story weights to cross-validate")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="N conversations of squad dev questions not in conv")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ensure_index(args.index)
    qa = QA.open(replace(load_settings(env_file=None), index_dir=args.index))
    qa.warmup()
    if args.synthetic:
        convs = synthetic_conversations(args.synthetic)[: args.limit]
        name = "synthetic from unused squad dev questions"
    else:
        convs = read_conversations(EVAL / "conv" / "questions-dev.jsonl")[: args.limit]
        name = "conversations dev"
    follow = [c for c in convs if c.kind == "follow-up"]
    switch = [c for c in convs if c.kind == "switch"]

    firsts: dict[str, Turn] = {}
    first_alone, first_conv, same_first = [], [], 0
    for c in convs:
        alone = qa.answer(str(c.first["question"]))
        turn = respond(qa, [], str(c.first["question"]))
        firsts[c.cid] = turn
        first_alone.append(scored(alone, c.first))
        first_conv.append(scored(turn.answer, c.first))
        same_first += turn.answer is not None and turn.answer.text == alone.text

    alone2 = {c.cid: scored(ask_alone(qa, str(c.second["question"])), c.second) for c in convs}
    full2 = {c.cid: scored(qa.answer(str(c.second["original"])), c.second) for c in follow}

    # Latency: the same follow-up alone and in conversation, back to back.
    added, t_alone, t_conv = [], [], []
    conv2: dict[str, bool] = {}
    for c in convs:
        q = str(c.second["question"])
        s = time.perf_counter()
        ask_alone(qa, q)
        a_ms = (time.perf_counter() - s) * 1000
        s = time.perf_counter()
        turn = respond(qa, [firsts[c.cid]], q)
        c_ms = (time.perf_counter() - s) * 1000
        conv2[c.cid] = scored(turn.answer, c.second)
        if c.kind == "follow-up":
            t_alone.append(a_ms)
            t_conv.append(c_ms)
            added.append(c_ms - a_ms)

    results: dict[str, object] = {
        "conversations": len(convs),
        "follow_ups": len(follow),
        "switches": len(switch),
        "story_weight": PREFER_WEIGHT,
        "first_alone": pct(first_alone),
        "first_in_conversation": pct(first_conv),
        "first_identical_answers": same_first,
        "follow_alone": pct([alone2[c.cid] for c in follow]),
        "follow_in_full": pct([full2[c.cid] for c in follow]),
        "follow_in_conversation": pct([conv2[c.cid] for c in follow]),
        "switch_alone": pct([alone2[c.cid] for c in switch]),
        "switch_in_conversation": pct([conv2[c.cid] for c in switch]),
        "p50_ms_alone": statistics.median(t_alone) if t_alone else float("nan"),
        "p50_ms_in_conversation": statistics.median(t_conv) if t_conv else float("nan"),
        "p50_ms_added": statistics.median(added) if added else float("nan"),
    }
    if args.tune:
        weights = sorted({float(w) for w in args.tune.split(",")})
        by_weight = {w: in_conversation(qa, convs, firsts, w) for w in weights}
        cv, chosen = cross_validate(convs, by_weight)
        results["cv_weights_chosen"] = chosen
        results["cv_follow_in_conversation"] = pct([cv[c.cid] for c in follow])
        results["cv_switch_in_conversation"] = pct([cv[c.cid] for c in switch])
        for w in weights:
            results[f"weight_{w:g}_follow"] = pct([by_weight[w][c.cid] for c in follow])
            results[f"weight_{w:g}_switch"] = pct([by_weight[w][c.cid] for c in switch])

    r = results
    print(f"\n== {name}: {r['conversations']} ({r['follow_ups']} follow-ups, "
          f"{r['switches']} topic switches); story weight {r['story_weight']} ==")  # fmt: skip
    print(f"first turns        alone {r['first_alone']:5.1f}   in conversation "
          f"{r['first_in_conversation']:5.1f}   identical answers "
          f"{r['first_identical_answers']}/{r['conversations']}")  # fmt: skip
    print(
        f"follow-ups         alone {r['follow_alone']:5.1f}   written in full "
        f"{r['follow_in_full']:5.1f}   in conversation {r['follow_in_conversation']:5.1f}"
    )
    print(f"topic switches     alone {r['switch_alone']:5.1f}   in conversation "
          f"{r['switch_in_conversation']:5.1f}")  # fmt: skip
    print(f"follow-up latency  p50 alone {r['p50_ms_alone']:.1f} ms   in conversation "
          f"{r['p50_ms_in_conversation']:.1f} ms   added (paired p50) "
          f"{r['p50_ms_added']:+.1f} ms")  # fmt: skip
    if args.tune:
        for w in sorted(float(x) for x in args.tune.split(",")):
            print(f"  weight {w:g}: follow-ups {r[f'weight_{w:g}_follow']:5.1f}   "
                  f"switches {r[f'weight_{w:g}_switch']:5.1f}")  # fmt: skip
        print(f"cross-validated (weights chosen per fold {r['cv_weights_chosen']}): "
              f"follow-ups {r['cv_follow_in_conversation']:5.1f}   switches "
              f"{r['cv_switch_in_conversation']:5.1f}")  # fmt: skip
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
