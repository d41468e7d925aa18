"""The `chat` subcommand: an interactive conversation, for maintainers.

Each line is the next turn of one conversation, answered with the text the bot would
send, and (with --explain, or after typing `/explain`) how the earlier turns were used.
`/new` starts a new conversation; an empty line or end of input quits.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from retrieval.cli.common import asked_day, common, open_qa, typed_lines

PROMPT = "you> "
HELP = (
    "newsqa chat: ask a question, then follow-ups ('where was it?', 'more', 'source?').\n"
    "/new starts a new conversation, /explain shows how the context was used, "
    "an empty line quits."
)


def add_commands(sub: Any) -> None:
    sp = sub.add_parser("chat", help="an interactive conversation with follow-up questions")
    common(sp)
    sp.add_argument("--explain", action="store_true", help="show how each turn used the context")
    sp.add_argument(
        "--date", type=asked_day, help="answer as if asked on YYYY-MM-DD (default: now)"
    )
    sp.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> int:
    from retrieval.converse import converse, format_turn, memory_from
    from retrieval.errors import BadQuestionError

    stdin = stdin or sys.stdin
    qa = open_qa(args)
    memory = memory_from(qa.settings)
    interactive = stdin.isatty() and out.isatty()
    explain = bool(args.explain)
    key, conversations = "chat-1", 1
    if interactive:
        out.write(HELP + "\n")
    for line in typed_lines(stdin, out, "\n" + PROMPT):
        if line == "/new":
            conversations += 1
            key = f"chat-{conversations}"
            out.write("(new conversation)\n")
            continue
        if line == "/explain":
            explain = not explain
            out.write(f"(explain {'on' if explain else 'off'})\n")
            continue
        asked = args.date or datetime.now(UTC)
        try:
            turn = converse(qa, memory, key, line, asked_at=asked)
        except BadQuestionError as exc:
            out.write(f"{exc}\n")
            continue
        out.write(format_turn(turn) + "\n")
        if explain:
            out.write("-- " + turn.explain().replace("\n", "\n-- ") + "\n")
        if not interactive:
            out.write("\n")
        out.flush()
    return 0
