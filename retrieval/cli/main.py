"""The maintainers' command line: `python -m retrieval index|search|ask|chat|eval|stats`.

Each command group lives in its own module (``indexing``, ``answers``, ``chat``) and registers its
subcommands here; ``common`` holds what they share.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from retrieval.cli import answers, chat, indexing
from retrieval.errors import NewsQAError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m retrieval",
        description="Build and query the newsqa index.",
    )
    p.add_argument("--env-file", type=Path, default=Path(".env"), help="settings file (.env)")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    indexing.add_commands(sub)
    answers.add_commands(sub)
    chat.add_commands(sub)
    return p


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in (
        "sentence_transformers", "transformers", "httpx", "urllib3", "bm25s", "faiss",
        "milvus_lite",
    ):  # fmt: skip
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pymilvus logs each failed call with a traceback; the store turns them into one line.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)


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
