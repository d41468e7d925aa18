"""What every subcommand shares: settings from arguments, argument types, output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from retrieval.dates import asked_on, parse_day
from retrieval.settings import Settings, load_settings

if TYPE_CHECKING:
    from retrieval.answer.qa import QA


def common(sp: argparse.ArgumentParser) -> None:
    """Options every subcommand takes."""
    where = sp.add_mutually_exclusive_group()
    where.add_argument("--index", type=Path, help="index folder (NEWSQA_INDEX_DIR)")
    where.add_argument(
        "--store", metavar="URI", help="Milvus store: milvus-lite:PATH or http://host:19530 "
        "(NEWSQA_STORE)",
    )  # fmt: skip
    sp.add_argument("--json", action="store_true", help="machine-readable output")


def date_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--since", type=iso_date, help="only documents dated on or after YYYY-MM-DD")
    sp.add_argument("--until", type=iso_date, help="only documents dated on or before YYYY-MM-DD")


def iso_date(value: str) -> str:
    """``--since``/``--until``: a day as an ISO string."""
    try:
        return parse_day(value).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def asked_day(value: str) -> datetime:
    """``--date``: answer as if asked at the end of that day."""
    try:
        return asked_on(parse_day(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = load_settings(env_file=args.env_file)
    if getattr(args, "index", None):  # a folder named on the command line is a FAISS one
        settings = replace(settings, index_dir=args.index, store="")
    if getattr(args, "store", None):
        settings = replace(settings, store=args.store)
    if getattr(args, "corpus", None):
        settings = replace(settings, corpus_dir=args.corpus)
    return settings


def emit(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def positive_int(value: str) -> int:
    """A whole number of at least 1 (``-k 0`` or ``-k -1`` is a usage error, not a slice)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def hide_library_progress() -> None:
    """Hide the model libraries' own progress bars ("Loading weights") for --no-progress."""
    import sys

    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # transformers imported after this reads it
    if "transformers.utils.logging" in sys.modules:  # already imported: tell it directly
        sys.modules["transformers.utils.logging"].disable_progress_bar()


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return seconds


def open_qa(args: argparse.Namespace) -> QA:
    from retrieval.answer.qa import QA

    return QA.open(settings_from_args(args))


def typed_lines(stdin: TextIO, out: TextIO, prompt: str) -> Iterator[str]:
    """Stripped lines typed at a terminal after ``prompt`` (an empty line or Ctrl-D ends)
    or read from a pipe (blank lines skipped, end of input ends)."""
    interactive = stdin.isatty() and out.isatty()
    while True:
        if interactive:
            try:
                line = input(prompt)
            except EOFError:
                out.write("\n")
                return
            if not line.strip():
                return
        else:
            line = stdin.readline()
            if not line:
                return
            if not line.strip():
                continue
        yield line.strip()
