"""The `index` and `stats` subcommands: building, watching and describing the index."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from retrieval.cli.common import (
    common,
    emit,
    hide_library_progress,
    positive_seconds,
    settings_from_args,
)
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.encoder.base import Encoder
    from retrieval.index.build import BuildReport

log = logging.getLogger(__name__)


def add_commands(sub: Any) -> None:
    sp = sub.add_parser("index", help="build or update the index from the corpus")
    common(sp)
    sp.add_argument("--corpus", type=Path, help="corpus folder (NEWSQA_CORPUS_DIR)")
    sp.add_argument("--full", action="store_true", help="rebuild from scratch")
    sp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sp.add_argument(
        "--allow-empty", action="store_true",
        help="publish even if the corpus has no documents (otherwise refused: the last good "
        "version is kept)",
    )  # fmt: skip
    sp.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="embed on a Ray cluster (address such as ray://host:10001 or auto; none: start a "
        "local Ray; NEWSQA_RAY_ADDRESS); needs newsqa[ray]",
    )  # fmt: skip
    sp.add_argument(
        "--watch", action="store_true",
        help="keep running: reindex whenever corpus files change (stop with Ctrl-C or SIGTERM)",
    )  # fmt: skip
    sp.add_argument(
        "--interval", type=positive_seconds, default=2.0, metavar="S",
        help="with --watch, seconds between looks at the corpus folder (default 2)",
    )  # fmt: skip
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("stats", help="what the index holds and how it was built")
    common(sp)
    sp.set_defaults(func=cmd_stats)


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
    from retrieval.index.build import build_index
    from retrieval.store.factory import open_store

    settings = settings_from_args(args)
    if args.ray is not None:
        settings = replace(settings, ray_address=args.ray)
    if args.no_progress or args.json:
        hide_library_progress()
    if args.watch:
        return _watch(args, settings, out)
    report = build_index(
        settings, full=args.full, progress=not args.no_progress and not args.json,
        encoder_loader=_ray_loader(settings) if settings.ray_address else None,
        allow_empty=args.allow_empty,
    )  # fmt: skip
    if args.json:
        emit(out, _report_json(report))
        return 0
    out.write(
        f"indexed {report.documents} documents from {report.files} files into "
        f"{report.chunks} chunks ({open_store(settings).location}, version {report.version})\n"
        f"  {_report_line(report)}\n"
        f"  skipped files: {len(report.skipped)}\n"
    )
    return 0


def _ray_loader(settings: Settings) -> Callable[[], Encoder]:
    """Loads the Ray encoder (and so Ray) only if the build has something to embed."""

    def load() -> Encoder:
        from retrieval.encoder.ray import RayEncoder

        return RayEncoder(settings, settings.ray_address)

    return load


def _watch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """`index --watch`: one line (or JSON object) per build until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from retrieval.encoder.factory import load_encoder
    from retrieval.index.build import build_index
    from retrieval.index.watch import CorpusWatcher

    def show(report: BuildReport) -> None:
        if args.json:
            emit(out, _report_json(report))
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
        encoder = None
        if args.full:
            encoder = load_encoder(settings)
            show(build_index(settings, encoder=encoder, full=True))
        watcher = CorpusWatcher(
            settings, interval=args.interval, debounce=min(1.0, args.interval),
            encoder=encoder, on_build=show,
        )  # fmt: skip
        watcher.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    log.info("stopped watching %s", settings.corpus_dir)
    return 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    from retrieval.store.factory import open_store

    settings = settings_from_args(args)
    index = open_store(settings).load()
    m = index.manifest
    info = asdict(m)
    info["path"] = index.location
    info["dated_documents"] = sum(1 for d in index.docs.values() if d.date)
    dates = sorted(d.date for d in index.docs.values() if d.date)
    info["date_range"] = [dates[0], dates[-1]] if dates else None
    if args.json:
        emit(out, info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        out.write(f"{key:<{width}}  {value}\n")
    return 0
