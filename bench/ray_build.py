"""A Ray build against a local build of the benchmark corpus, in one run.

    python bench/ray_build.py [--address ADDRESS] [--docs N] [--questions N] [--json]

Builds the index of SQuAD + RealTimeQA (`../shared/data/eval/{squad,rtqa}/corpus.jsonl`,
or the first ``--docs`` documents of each) twice with the default encoder: on the local
CPU, then with its embedding on Ray (``--address``: a cluster, such as ``ray://host:10001``
or ``auto``; by default a local Ray started here, which on one machine only shows the
overhead, not a speed-up). Prints both builds' chunks/s, the largest difference between
their vectors, and how many answers to the first ``--questions`` dev questions of each set
are the same (text, sources, abstention) from the two indexes: the target is all of them.
The builds go one after the other, so the machine's load may differ between them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from retrieval.answer.evaluate import read_questions
from retrieval.answer.qa import QA
from retrieval.encoder.factory import load_encoder
from retrieval.encoder.ray import RayEncoder
from retrieval.index.build import BuildReport, build_index
from retrieval.settings import Settings, load_settings
from retrieval.store.factory import open_store

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "data" / "eval"
SETS = ("rtqa", "squad")


def corpus_copy(folder: Path, docs: int | None) -> Path:
    folder.mkdir()
    for name in SETS:
        source, target = EVAL / name / "corpus.jsonl", folder / f"{name}.jsonl"
        if docs is None:
            target.symlink_to(source)
        else:
            with open(source, encoding="utf-8") as f:
                target.write_text("".join(itertools.islice(f, docs)), encoding="utf-8")
    return folder


def same_vectors(a: Settings, b: Settings) -> float:
    """The largest absolute difference between the two indexes' chunk and sentence vectors."""
    x, y = open_store(a).load(), open_store(b).load()
    if [c.chunk_id for c in x.all_chunks()] != [c.chunk_id for c in y.all_chunks()]:
        raise SystemExit("the two builds hold different chunks")
    rows = list(range(x.manifest.chunks))
    sentences = list(range(sum(len(c.sentences) for c in x.all_chunks())))
    return float(
        max(
            np.abs(x.chunk_vectors(rows) - y.chunk_vectors(rows)).max(),
            np.abs(x.sentence_vectors_at(sentences) - y.sentence_vectors_at(sentences)).max(),
        )
    )


def same_answers(a: Settings, b: Settings, per_set: int) -> tuple[int, int]:
    """(equal, asked): answers to dev questions from the two indexes, compared whole."""
    qa, qb = QA.open(a), QA.open(b)
    equal = asked = 0
    for name in SETS:
        for q in itertools.islice(read_questions(EVAL / name / "questions-dev.jsonl"), per_set):
            when = datetime.fromisoformat(q.date) if q.date else None
            x, y = qa.answer(q.question, asked_at=when), qb.answer(q.question, asked_at=when)
            key = lambda r: (r.text, r.abstained, [s.doc_id for s in r.sources])  # noqa: E731
            equal += key(x) == key(y)
            asked += 1
    return equal, asked


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--address", default="local", help="Ray address (default: a local Ray)")
    p.add_argument("--docs", type=int, help="first N documents of each corpus")
    p.add_argument("--questions", type=int, default=300, help="dev questions of each set")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = corpus_copy(Path(tmp) / "corpus", args.docs)
        base = replace(load_settings(env_file=None), corpus_dir=corpus)
        local = replace(base, index_dir=Path(tmp) / "local")
        on_ray = replace(base, index_dir=Path(tmp) / "ray", ray_address=args.address)
        reports: dict[str, BuildReport] = {}
        reports["local"] = build_index(local, encoder=load_encoder(local), full=True)
        ray_encoder = RayEncoder(on_ray, args.address)  # Ray starts outside the timing
        reports["ray"] = build_index(on_ray, encoder=ray_encoder, full=True)
        ray_encoder.ray.shutdown()
        difference = same_vectors(local, on_ray)
        equal, asked = same_answers(local, on_ray, args.questions)
    rates = {name: r.chunks / r.seconds for name, r in reports.items()}
    for name, r in reports.items():
        print(f"{name}: {r.chunks} chunks in {r.seconds:.1f}s, {rates[name]:.1f} chunks/s "
              f"(embedding {r.embed_seconds:.1f}s)")  # fmt: skip
    print(f"ray / local: {rates['ray'] / rates['local']:.2f}x ({ray_encoder.actors} actors, "
          f"address {args.address})")  # fmt: skip
    print(f"largest vector difference: {difference:.2e}")
    print(f"same answers: {equal} of {asked} dev questions "
          f"({'met' if equal == asked else 'MISSED'}: all)")  # fmt: skip
    if args.json:
        print(json.dumps({"chunks_per_s": rates, "max_difference": difference,
                          "equal_answers": equal, "questions": asked}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
