"""The reply text of a conversation turn: the answer as :func:`format_answer` words it,
with the question as understood when a follow-up was rewritten, or the sources of the
last answer, or a short note. Same guarantees: at most ``limit`` characters, Markdown
and mentions of corpus text escaped."""

from __future__ import annotations

from retrieval.answer.render import (
    DISCORD_LIMIT,
    escape_markdown,
    format_answer,
    format_source,
)
from retrieval.converse.turns import Turn

_MAX_SOURCES = 10
_MAX_UNDERSTOOD = 300


def understood_line(turn: Turn) -> str:
    """A small line saying how a follow-up was read, or "" when it was taken as asked."""
    if turn.kind != "follow-up" or turn.understood == turn.question:
        return ""
    text = " ".join(turn.understood.split())
    if len(text) > _MAX_UNDERSTOOD:
        text = text[: _MAX_UNDERSTOOD - 1].rstrip() + "…"
    return f"-# Taken as: {escape_markdown(text)}\n"


def format_sources(turn: Turn, *, limit: int = DISCORD_LIMIT) -> str:
    """The sources of the answer a "source?" request is about, one link a line."""
    answer = turn.answer
    if answer is None or not answer.sources:
        return "That answer had no sources."
    head = (
        "I had no answer to that; the closest stories were:"
        if answer.abstained or not answer.text
        else "Sources of that answer:"
    )
    seen: set[tuple[str, str | None]] = set()
    lines = []
    for s in answer.sources:
        if (s.doc_id, s.url) not in seen:
            seen.add((s.doc_id, s.url))
            lines.append(f"• {format_source(s)}")
    lines = lines[:_MAX_SOURCES]
    while lines:
        text = "\n".join([head, *lines])
        if len(text) <= limit:
            return text
        lines.pop()
    return head[:limit]


def format_turn(turn: Turn, *, limit: int = DISCORD_LIMIT) -> str:
    """What the bot sends for ``turn`` (never longer than ``limit``)."""
    if turn.note is not None:
        return turn.note[:limit]
    if turn.kind == "sources":
        return format_sources(turn, limit=limit)
    assert turn.answer is not None
    lead = understood_line(turn)
    if len(lead) > limit // 4:
        lead = ""
    return lead + format_answer(turn.answer, limit=limit - len(lead))
