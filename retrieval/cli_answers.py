"""The `ask` and `eval` subcommands of `python -m retrieval`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

Adder = Callable[[argparse.ArgumentParser], None]


def add_answer_commands(sub: Any, common: Adder, date_args: Adder) -> None:
    sp = sub.add_parser("ask", help="answer a question as the bot would")
    common(sp)
    sp.add_argument("question", nargs="?", help="the question (or --questions FILE)")
    sp.add_argument("--questions", help="JSONL file of {id, question[, date]} for batch mode")
    sp.add_argument("--explain", action="store_true", help="show retrieval and sentence scores")
    date_args(sp)
    sp.set_defaults(func=cmd_ask)


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    from .cli import _open_qa
    from .render import format_answer

    qa = _open_qa(args)
    answer = qa.answer(args.question, since=args.since, until=args.until)
    out.write(format_answer(answer) + "\n")
    return 0
