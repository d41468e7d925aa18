"""The maintainers' command line: `python -m retrieval index|search|ask|eval|stats`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import NewsQAError
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .build import BuildReport
    from .qa import QA

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m retrieval",
        description="Build and query the newsqa index.",
    )
    p.add_argument("--env-file", type=Path, default=Path(".env"), help="settings file (.env)")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index", type=Path, help="index folder (NEWSQA_INDEX_DIR)")
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    sp = sub.add_parser("index", help="build or update the index from the corpus")
    common(sp)
    sp.add_argument("--corpus", type=Path, help="corpus folder (NEWSQA_CORPUS_DIR)")
    sp.add_argument("--full", action="store_true", help="rebuild from scratch")
    sp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sp.add_argument(
        "--watch", action="store_true",
        help="keep running: reindex whenever corpus files change (stop with Ctrl-C or SIGTERM)",
    )  # fmt: skip
    sp.add_argument(
        "--interval", type=_positive_seconds, default=2.0, metavar="S",
        help="with --watch, seconds between looks at the corpus folder (default 2)",
    )  # fmt: skip
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("search", help="show the passages retrieved for a question")
    common(sp)
    sp.add_argument("question")
    sp.add_argument("-k", type=int, help="number of passages (default NEWSQA_TOP_K, 5)")
    _date_args(sp)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("stats", help="what the index holds and how it was built")
    common(sp)
    sp.set_defaults(func=cmd_stats)

    from .cli_answers import add_answer_commands

    add_answer_commands(sub, common, _date_args)
    return p


def _date_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--since", type=_iso_date, help="only documents dated on or after YYYY-MM-DD")
    sp.add_argument("--until", type=_iso_date, help="only documents dated on or before YYYY-MM-DD")


def _iso_date(value: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(env_file=args.env_file)
    if getattr(args, "index", None):
        settings = replace(settings, index_dir=args.index)
    if getattr(args, "corpus", None):
        settings = replace(settings, corpus_dir=args.corpus)
    return settings


def _emit(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return seconds


def _report_json(report: BuildReport) -> dict[str, Any]:
    obj = asdict(report)
    obj["skipped"] = [asdict(s) for s in report.skipped]
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds > 0 else 0.0
    obj["chunks_per_second"] = round(rate, 1)
    return obj


def _report_line(report: BuildReport) -> str:
    how = "incremental"
    if report.full:
        how = (
            report.reason if report.reason.startswith("full") else f"full rebuild ({report.reason})"
        )
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds > 0 else 0.0
    return (
        f"{how}: {report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{report.unchanged} unchanged documents; embedded {report.chunks_embedded} chunks "
        f"in {report.embed_seconds:.1f}s ({rate:.0f}/s); total {report.seconds:.1f}s"
    )


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    from .build import build_index

    settings = _settings(args)
    if args.watch:
        return _watch(args, settings, out)
    report = build_index(settings, full=args.full, progress=not args.no_progress and not args.json)
    for skipped in report.skipped:
        log.warning("skipped %s: %s", skipped.path, skipped.reason)
    if args.json:
        _emit(out, _report_json(report))
        return 0
    out.write(
        f"indexed {report.documents} documents from {report.files} files into "
        f"{report.chunks} chunks ({settings.index_dir}, version {report.version})\n"
        f"  {_report_line(report)}\n"
        f"  skipped files: {len(report.skipped)}\n"
    )
    return 0


def _watch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """`index --watch`: one line (or JSON object) per build until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from .build import build_index
    from .embedding import load_model
    from .watch import CorpusWatcher

    def show(report: BuildReport) -> None:
        if args.json:
            _emit(out, _report_json(report))
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            out.write(f"{stamp} version {report.version}: {_report_line(report)}\n")
        out.flush()

    stop = threading.Event()
    # SIGTERM lets a build in progress finish; Ctrl-C interrupts it, which is safe as well:
    # a version becomes current in one rename, so an interrupted build leaves no trace.
    in_main = threading.current_thread() is threading.main_thread()  # else no signals
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    try:
        model = None
        if args.full:
            model = load_model(settings.model, settings.device)
            show(build_index(settings, model=model, full=True))
        watcher = CorpusWatcher(
            settings, interval=args.interval, debounce=min(1.0, args.interval),
            model=model, on_build=show,
        )  # fmt: skip
        watcher.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    log.info("stopped watching %s", settings.corpus_dir)
    return 0


def _open_qa(args: argparse.Namespace) -> QA:
    from .qa import QA

    return QA.open(_settings(args))


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    qa = _open_qa(args)
    started = time.perf_counter()
    hits = qa.search(args.question, args.k, since=args.since, until=args.until)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        for h in hits:
            _emit(out, {
                "rank": h.rank, "doc_id": h.doc_id, "chunk_id": h.chunk_id,
                "score": round(h.score, 6), "dense": round(h.dense, 4),
                "lexical": round(h.lexical, 4), "title": h.title, "date": h.date,
                "url": h.url, "text": h.text,
            })  # fmt: skip
        return 0
    if not hits:
        out.write("no passages found\n")
    for h in hits:
        out.write(
            f"{h.rank}. [{h.score:.4f} dense {h.dense:.3f} bm25 {h.lexical:.2f}] "
            f"{h.title} ({h.date or 'undated'})\n   {h.url or h.doc_id}\n"
        )
        out.write("   " + h.text.replace("\n", " ")[:600] + "\n")
    out.write(f"({len(hits)} passages in {elapsed:.0f} ms)\n")
    return 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    from .index import load_index

    settings = _settings(args)
    index = load_index(settings.index_dir)
    m = index.manifest
    info = asdict(m)
    info["path"] = str(index.path)
    info["dated_documents"] = sum(1 for d in index.docs.values() if d.date)
    dates = sorted(d.date for d in index.docs.values() if d.date)
    info["date_range"] = [dates[0], dates[-1]] if dates else None
    if args.json:
        _emit(out, info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        out.write(f"{key:<{width}}  {value}\n")
    return 0


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.func(args, out or sys.stdout))
    except NewsQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
