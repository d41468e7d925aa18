"""The encoders side by side in one run: torch (sentence-transformers), ONNX fp32, ONNX int8.

    python bench/encoder.py [--work DIR] [--limit N] [--latency-questions N] [--json]
    python bench/encoder.py --builds-only [--encoders torch,int8-before,int8]

For each encoder: a full index build of both benchmark corpora (`../shared/data/eval/
{squad,rtqa}/corpus.jsonl`) with chunks/s; answer hit rate and retrieval metrics on the
rtqa and squad dev questions with the shipped ranker; two fresh-process starts on that
index (`python -m retrieval index` when nothing changed; the bot console from launch to
"engine ready"). Then, with the encoders taking turns so that machine noise hits all
alike: question-to-answer latency (each question put to the three engines in turn) and
the embedding step's chunks/s on the same chunks (``--throughput-only`` measures just
that, on the indexes of an earlier run), and full builds of the whole corpus dealt into
``--build-shards`` parts, each part built by each encoder in turn (every stage of a build
counts; ``--builds-only`` measures just that; ``int8-before`` is the int8 encoder with
64-row batches and spinning threads, as it was before token-limited batches). Ratios to
torch are printed beside the figures, then the issue-12 targets, met or missed.
Indexes go to --work (default var/bench-encoder, git-ignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

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


def shard_corpus(corpus: Path, dest: Path, shards: int) -> list[Path]:
    """The corpus files' lines dealt in turn into ``shards`` folders of the same files."""
    folders = [dest / f"shard{i}" for i in range(shards)]
    for folder in folders:
        folder.mkdir(parents=True)
    for source in sorted(corpus.glob("*.jsonl")):
        lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        for i, folder in enumerate(folders):
            (folder / source.name).write_text("\n".join(lines[i::shards]) + "\n", "utf-8")
    return folders


class Int8Before:
    """The int8 encoder as it was before token-limited batches and sleeping threads
    (64 rows a call, spinning pool threads): ``--encoders torch,int8-before,int8``."""

    def __init__(self, encoder: Any) -> None:
        import onnxruntime as ort

        self.inner = encoder
        self.model, self.backend, self.digest = encoder.model, encoder.backend, encoder.digest
        self.dimension = encoder.dimension
        options = ort.SessionOptions()
        options.log_severity_level = 3
        encoder.session = ort.InferenceSession(
            encoder.session._model_path, options, providers=["CPUExecutionProvider"]
        )

    def encode_passages(self, *args: Any, **kwargs: Any) -> Any:
        from retrieval.encoder import onnx

        saved, onnx.TOKENS_PER_BATCH = onnx.TOKENS_PER_BATCH, 10**9
        try:
            return self.inner.encode_passages(*args, **kwargs)
        finally:
            onnx.TOKENS_PER_BATCH = saved


def interleaved_builds(
    work: Path, corpus: Path, shards: int, names: tuple[str, ...] = tuple(ENCODERS)
) -> dict[str, dict[str, float]]:
    """Full builds of the whole corpus, dealt into ``shards`` parts, the encoders taking
    turns on each part, so that the machine's load hits all of them alike. Every stage
    of a build counts (reading, chunking, embedding, the FAISS index, writing files)."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        parts = shard_corpus(corpus, Path(tmp) / "corpus", shards)
        encoders: dict[str, Any] = {}
        for name in names:
            base = name.removesuffix("-before")
            encoders[name] = load_encoder(settings_for(work, base, corpus), ENCODERS[base])
            if name == "int8-before":
                encoders[name] = Int8Before(encoders[name])
        totals = {name: {"chunks": 0.0, "build_s": 0.0, "embed_s": 0.0} for name in names}
        for r, part in enumerate(parts):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                base = settings_for(work, name.removesuffix("-before"), part)
                settings = replace(base, index_dir=Path(tmp) / f"index{r}" / name)
                report = build_index(settings, encoder=encoders[name], full=True)
                totals[name]["chunks"] += report.chunks
                totals[name]["build_s"] += report.seconds
                totals[name]["embed_s"] += report.embed_seconds
    return {
        name: {
            "build_chunks_per_s": t["chunks"] / t["build_s"],
            "build_embed_share": t["embed_s"] / t["build_s"],
        }
        for name, t in totals.items()
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
    p.add_argument("--build-shards", type=int, default=6, help="parts of the interleaved builds")
    p.add_argument("--builds-only", action="store_true", help="only the interleaved builds")
    p.add_argument("--encoders", default=",".join(ENCODERS), help="with --builds-only")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not one "full rebuild requested" per build

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
        args.work.mkdir(parents=True, exist_ok=True)
        if args.builds_only:
            names = tuple(args.encoders.split(","))
            builds = interleaved_builds(args.work, corpus, args.build_shards, names)
            for name, b in builds.items():
                ratio = b["build_chunks_per_s"] / builds[names[0]]["build_chunks_per_s"]
                print(f"{name}: full build {b['build_chunks_per_s']:.1f} chunks/s "
                      f"({ratio:.2f}x {names[0]}; embedding {b['build_embed_share']:.0%} "
                      f"of the time), {args.build_shards} parts taking turns")  # fmt: skip
            return 0
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
        for name, b in interleaved_builds(args.work, corpus, args.build_shards).items():
            results[name] |= b
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
        "build_chunks_per_s",
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
    print("\nissue 12 targets, int8 against torch in this run:")
    for line in targets(results, ratios["int8"]):
        print("  " + line)
    if args.json:
        print(json.dumps(results))
    return 0


def targets(results: dict[str, dict[str, float]], ratio: dict[str, float]) -> list[str]:
    """One line per target: the figure, the target, met or not."""
    int8, torch = results["int8"], results["torch"]

    def line(what: str, figure: str, ok: bool, target: str) -> str:
        return f"{what}: {figure} (target {target}) {'met' if ok else 'MISSED'}"

    out = [
        line("answer p50", f"{ratio['answer_p50_ms']:.2f}x torch", ratio["answer_p50_ms"] <= 0.5,
             "<= 0.50x"),
        line("answer p95", f"{ratio['answer_p95_ms']:.2f}x torch", ratio["answer_p95_ms"] <= 0.6,
             "<= 0.60x"),
        line("full build", f"{ratio['build_chunks_per_s']:.2f}x torch's chunks/s (parts taking "
             "turns)", ratio["build_chunks_per_s"] >= 2, ">= 2x"),
    ]  # fmt: skip
    for s in SETS:
        gap = 100 * (int8[f"{s}_hit_rate"] - torch[f"{s}_hit_rate"])
        out.append(line(f"{s} hit rate", f"{gap:+.1f} points", abs(gap) <= 0.5, "within 0.5"))
    out.append(line("no-change index", f"{int8['index_no_change_s']:.2f} s",
                    int8["index_no_change_s"] <= 1.5, "<= 1.5 s"))  # fmt: skip
    out.append(line("bot ready", f"{int8['bot_ready_s']:.2f} s", int8["bot_ready_s"] <= 3,
                    "<= 3 s"))  # fmt: skip
    out.append("1M chunks recall@10 and p50 search: printed by bench/scale.py")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
