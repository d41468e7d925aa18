"""A local console that answers typed questions with exactly the text the bot would send.

Used when no DISCORD_TOKEN is set, so a newcomer sees answers before setting up Discord.
Interactive on a terminal; otherwise it answers each line of input and exits. Like a DM,
questions asked within NEWSQA_CONVERSATION_IDLE_SECONDS of each other form one
conversation: "where was it held?", "more" and "source?" follow on from the last answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TextIO

from retrieval.answer.qa import QA
from retrieval.answer.render import format_help, small_talk, wants_help
from retrieval.cli.common import typed_lines
from retrieval.converse import ConversationMemory, memory_from

from .answering import reply_turn

log = logging.getLogger(__name__)

BANNER = (
    "newsqa console: no DISCORD_TOKEN is set, so questions are answered here with the text "
    "the bot would send.\nType a question (or 'help'); an empty line or Ctrl-D quits."
)


def run_console(qa: QA, stdin: TextIO, stdout: TextIO) -> int:
    """Answer questions from ``stdin`` until EOF (or an empty line on a terminal)."""
    interactive = stdin.isatty() and stdout.isatty()
    memory = memory_from(qa.settings)
    if interactive:
        stdout.write(BANNER + "\n")
    try:
        for line in typed_lines(stdin, stdout, "\nquestion> "):
            stdout.write(_respond(qa, memory, line) + "\n")
            if not interactive:
                stdout.write("\n")
            stdout.flush()
        return 0
    except KeyboardInterrupt:
        stdout.write("\n")
        return 0


def _respond(qa: QA, memory: ConversationMemory, question: str) -> str:
    if wants_help(question):
        return format_help()
    if (chat := small_talk(question)) is not None:
        return chat
    # Asked now, as a Discord message would be: "this week" means the same to both.
    reply = reply_turn(qa, memory, "console", question, asked_at=datetime.now(UTC))
    a = reply.answer
    log.debug(
        "answered in %.1f ms confidence=%s",
        reply.answer_ms,
        f"{a.confidence:.2f}" if a else "-",
    )
    return reply.text
