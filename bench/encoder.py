"""The encoders side by side in one run: torch (sentence-transformers), ONNX fp32, ONNX int8.

    python bench/encoder.py [--work DIR] [--limit N] [--latency-questions N] [--json]

For each encoder: a full index build of both benchmark corpora (`../shared/data/eval/
{squad,rtqa}/corpus.jsonl`) with chunks/s; answer hit rate and retrieval metrics on the
rtqa and squad dev questions with the shipped ranker; two fresh-process starts on that
index (`python -m retrieval index` when nothing changed; the bot console from launch to
"engine ready"). Then, with the encoders taking turns so that machine noise hits all
alike: question-to-answer latency (each question put to the three engines in turn) and
the embedding step's chunks/s on the same chunks (``--throughput-only`` measures just
that, on the indexes of an earlier run). Ratios to torch are printed beside the figures.
Indexes go to --work (default var/bench-encoder, git-ignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.answer.evaluate import Question, metrics, read_questions, run_questions
from retrieval.answer.qa import QA
from retrieval.dates import asked_on, parse_day
from retrieval.encoder.factory import load_encoder
from retrieval.index.build import build_index
from retrieval.ingest.chunking import title_prefix
from retrieval.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "data" / "eval"
SETS = ("rtqa", "squad")
ENCODERS = {"torch": "torch", "fp32": "onnx-fp32", "int8": "onnx-int8"}


def settings_for(work: Path, name: str, corpus: Path) -> Settings:
    base = load_settings(env_file=None)
    return replace(base, corpus_dir=corpus, index_dir=work / name, encoder=name)


def build(settings: Settings, backend: str) -> dict[str, float]:
    encoder = load_encoder(settings, backend)  # loaded (and exported) outside the timing
    report = build_index(settings, encoder=encoder, full=True, progress=sys.stderr.isatty())
    return {
        "chunks": report.chunks,
        "build_s": report.seconds,
        "embed_s": report.embed_seconds,
        "chunks_per_s": report.chunks / report.seconds,
        "embed_chunks_per_s": report.chunks / max(report.embed_seconds, 1e-9),
    }


def ask(qa: QA, q: Question):  # type: ignore[no-untyped-def]
    return qa.answer(q.question, asked_at=asked_on(parse_day(q.date)) if q.date else None)


def interleaved_latency(engines: dict[str, QA], questions: list[Question]) -> dict[str, list]:
    """Milliseconds per question for each engine, the engines taking turns per question."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    names = list(engines)
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            ask(engines[name], q)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def interleaved_throughput(engines: dict[str, QA], n: int, rounds: int = 6) -> dict[str, float]:
    """Chunks/s of ``encode_passages`` (the build's embedding step) on the same ``n``
    chunks of the index, the encoders taking turns on slices, so load hits all alike."""
    index = next(iter(engines.values())).retriever.index
    chunks = list(index.all_chunks())
    rng = np.random.default_rng(0)
    texts, spans = [], []
    for i in rng.choice(len(chunks), min(n, len(chunks)), replace=False):
        c = chunks[int(i)]
        prefix = title_prefix(index.docs[c.doc_id].title, c.text)
        texts.append(prefix + c.text)
        spans.append([(a + len(prefix), b + len(prefix)) for a, b in c.sentences])
    seconds = dict.fromkeys(engines, 0.0)
    step = max(1, len(texts) // rounds)
    for r, start in enumerate(range(0, len(texts), step)):
        names = list(engines)
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = time.perf_counter()
            engines[name].encoder.encode_passages(
                texts[start : start + step], spans[start : start + step]
            )
            seconds[name] += time.perf_counter() - started
    return {name: len(texts) / s for name, s in seconds.items()}


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "DISCORD_"))}
    return env | {
        "NEWSQA_INDEX_DIR": str(settings.index_dir.resolve()),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
        "NEWSQA_ENCODER": settings.encoder,
        "NEWSQA_MODEL_CACHE": str(settings.model_cache.resolve()),
        "NEWSQA_WATCH_SECONDS": "0",
    }


def fresh_starts(settings: Settings, rounds: int = 3) -> dict[str, float]:
    """Best of ``rounds``: a no-change `index` process, and the console bot until ready."""
    index_s, bot_s = [], []
    env = _env(settings)
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "retrieval", "index", "--no-progress"], env=env, cwd=REPO,
            check=True, capture_output=True,
        )  # fmt: skip
        index_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "--console", "--env-file", os.devnull], env=env,
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert bot.stderr is not None and bot.stdin is not None
        for line in bot.stderr:
            if "engine ready" in line:
                bot_s.append(time.perf_counter() - started)
                break
        bot.stdin.close()
        bot.wait(60)
    return {"index_no_change_s": min(index_s), "bot_ready_s": min(bot_s)}


def table(results: dict[str, dict[str, float]]) -> str:
    """One row per figure, one column per encoder; rates in percent."""
    names = list(results)
    keys = list(results[names[0]])
    width = max(len(k) for k in keys)
    lines = [" " * width + "".join(n.rjust(11) for n in names)]
    for k in keys:
        rate = any(w in k for w in ("rate", "recall", "mrr"))
        cells = [f"{results[n][k]:.1%}" if rate else f"{results[n][k]:.2f}" for n in names]
        lines.append(k.ljust(width) + "".join(c.rjust(11) for c in cells))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench-encoder")
    p.add_argument("--limit", type=int, help="first N dev questions of each set")
    p.add_argument("--docs", type=int, help="first N documents of each corpus (a quick run)")
    p.add_argument("--latency-questions", type=int, default=300)
    p.add_argument("--throughput-chunks", type=int, default=600)
    p.add_argument("--throughput-only", action="store_true", help="on the --work indexes")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    results: dict[str, dict[str, float]] = {}
    engines: dict[str, QA] = {}
    if args.throughput_only:
        for name in ENCODERS:
            engines[name] = QA.open(settings_for(args.work, name, args.work / "unused"))
        for name, rate in interleaved_throughput(engines, args.throughput_chunks).items():
            print(f"{name}: {rate:.1f} chunks/s (interleaved)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        for name in SETS:
            source, target = EVAL / name / "corpus.jsonl", corpus / f"{name}.jsonl"
            if args.docs is None:
                target.symlink_to(source)
            else:
                with open(source, encoding="utf-8") as f:
                    target.write_text("".join(itertools.islice(f, args.docs)), encoding="utf-8")
        for name, backend in ENCODERS.items():
            settings = settings_for(args.work, name, corpus)
            results[name] = build(settings, backend)
            print(f"{name}: built in {results[name]['build_s']:.0f}s", file=sys.stderr)
            engines[name] = QA.open(settings)
            engines[name].warmup()
            results[name] |= fresh_starts(settings)
        questions = {n: list(read_questions(EVAL / n / "questions-dev.jsonl")) for n in SETS}
        for name, qa in engines.items():
            for s in SETS:
                m = metrics(run_questions(questions[s][: args.limit], lambda q, qa=qa: ask(qa, q)))
                for key in ("hit_rate", "answered_rate", "recall@5", "mrr"):
                    results[name][f"{s}_{key}"] = m[key]
        for name, rate in interleaved_throughput(engines, args.throughput_chunks).items():
            results[name]["interleaved_chunks_per_s"] = rate
        sample = [q for s in SETS for q in questions[s][: args.latency_questions // 2]]
        for name, ms in interleaved_latency(engines, sample).items():
            results[name]["answer_p50_ms"] = float(np.percentile(ms, 50))
            results[name]["answer_p95_ms"] = float(np.percentile(ms, 95))

    ratios = {
        name: {k: v / results["torch"][k] for k, v in r.items() if results["torch"][k]}
        for name, r in results.items()
    }
    print(table(results))
    print("\nratio to torch (speed: lower time / higher chunks/s is better)")
    keys = (
        "chunks_per_s",
        "interleaved_chunks_per_s",
        "answer_p50_ms",
        "answer_p95_ms",
        "index_no_change_s",
        "bot_ready_s",
    )
    for name in ("fp32", "int8"):
        print(f"  {name}: " + ", ".join(f"{k} {ratios[name][k]:.2f}x" for k in keys))
        for s in SETS:
            gap = 100 * (results[name][f"{s}_hit_rate"] - results["torch"][f"{s}_hit_rate"])
            print(f"  {name}: {s} hit rate {gap:+.1f} points vs torch")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
