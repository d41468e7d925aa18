"""Turn an :class:`Answer` into the message text people read.

The same text is sent by the bot and printed by ``python -m retrieval ask``. It is Discord
Markdown: corpus text and titles are escaped so they render literally, mentions are broken
with a zero-width space (the bot also sends with ``AllowedMentions.none()``; this keeps a
copied reply harmless too), links are masked and wrapped in ``<>`` so Discord shows no
embeds, and the whole reply never exceeds ``limit`` characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from retrieval.answer.engine import Answer, Source

DISCORD_LIMIT = 2000
NOT_FOUND = "I couldn't find that in the corpus."
ELLIPSIS = "…"
ZWSP = "\u200b"

_MAX_TITLE = 120  # characters of a source title before it is shortened
_MAX_URL = 512  # longer URLs are shown as plain titles rather than links
_MAX_SOURCES = 10  # more links than this would bury the answer
_MIN_QUOTE = 40  # keep at least this much quote before giving up on the first source

# Every character Discord Markdown gives a meaning to; a backslash makes it literal.
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()])")
# At the start of a line these make a list or small text ("-# "); escaped there only.
_LINE_START = re.compile(r"^([-+]|\d+)(\.?)(?=\s|\\#)")
# Stops before brackets and trailing punctuation, which usually belong to the sentence.
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"]")
# A title that reads as an address ("https://...", "www.x.org", "bank.example/login"): as
# a masked link's label it would show one address and open another.
_URL_LIKE = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+/")
# Characters that would end a masked link's target early, or break the ``<...>`` form.
_URL_UNSAFE = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", " ": "%20", "\\": "%5C"}


def confidence_label(confidence: float) -> str:
    """Map the engine's 0-1 confidence to the word shown to people."""
    if confidence >= 0.7:
        return "high"
    if confidence >= 0.4:
        return "medium"
    return "low"


def escape_markdown(text: str) -> str:
    """Escape Markdown and neutralise mentions in untrusted text (corpus text, titles)."""
    parts: list[str] = []
    last = 0
    # Bare URLs keep working as links but lose their embed; their characters stay unescaped
    # so the link target is unchanged.
    for m in _BARE_URL.finditer(text):
        parts.append(_escape_plain(text[last : m.start()]))
        parts.append(f"<{_safe_url(m.group(0))}>")
        last = m.end()
    parts.append(_escape_plain(text[last:]))
    return "".join(parts)


def _escape_plain(text: str) -> str:
    # "@" followed by a zero-width space cannot form @everyone, @here or <@id>.
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@" + ZWSP)


def _escape_line_start(line: str) -> str:
    def fix(m: re.Match[str]) -> str:
        bullet, dot = m.group(1), m.group(2)
        return f"{bullet}\\." if dot else f"\\{bullet}"

    return _LINE_START.sub(fix, line, count=1)


def _safe_url(url: str) -> str:
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


def link_target(url: str | None) -> str | None:
    """``url`` made safe as a link target, or None when it must not become a link: only
    http(s), and no whitespace or control characters (a newline or tab from the corpus
    would end the link and turn the rest into live Markdown)."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > _MAX_URL:
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in url):
        return None
    return _safe_url(url)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def format_source(source: Source) -> str:
    """One source as a masked link ``[Title — date](<url>)``, or title and date without url.

    A title that looks like an address is never a link's label: it is shown as text with
    the real address after it, ``Title — date <url>``."""
    title = _one_line(source.title) or source.doc_id
    label = _shorten(title, _MAX_TITLE)
    if source.date and _one_line(source.date):
        label = f"{label} — {_one_line(source.date)}"
    # Square brackets in a link label end it early whatever the escaping; parentheses don't.
    target = link_target(source.url)
    if target is not None and _URL_LIKE.search(label):
        return f"{escape_markdown(label)} <{target}>"
    label = escape_markdown(label.replace("[", "(").replace("]", ")"))
    if target is not None:
        return f"[{label}](<{target}>)"
    return label


def _clip_quote(
    text: str, span: tuple[int, int] | None, keep: int
) -> tuple[str, tuple[int, int] | None]:
    """Keep about ``keep`` characters of ``text``, cut at word boundaries, showing the span.

    Returns the clipped text (with ellipses where it was cut) and the span's new offsets.
    """
    if keep >= len(text):
        return text, span
    start, must_end = 0, 0
    if span is not None and span[1] > keep:
        # The answer lies past the cut: slide the window to start at a word and end with it.
        start = max(0, min(span[0], span[1] - keep))
        space = text.find(" ", start, span[0])
        if start > 0 and text[start - 1] != " " and space >= 0:
            start = space + 1
        must_end = span[1]
    end = min(len(text), start + keep)
    if end < len(text):
        space = text.rfind(" ", start, end + 1)
        if space > max(start + keep // 2, must_end - 1):
            end = space
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip()
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    new_span = None
    if span is not None:
        offset = len(prefix) - start - lead
        lo, hi = len(prefix), len(prefix) + len(piece)
        s, e = max(span[0] + offset, lo), min(span[1] + offset, hi)
        new_span = (s, e) if e > s else None
    return prefix + piece + suffix, new_span


def _quote(text: str, span: tuple[int, int] | None) -> str:
    """The answer as a Markdown block quote, with the span in bold."""
    if span is not None and 0 <= span[0] < span[1] <= len(text):
        s, e = span
        mid = text[s:e]
        lead, trail = mid[: len(mid) - len(mid.lstrip())], mid[len(mid.rstrip()) :]
        bold = f"**{escape_markdown(mid.strip())}**" if mid.strip() else ""
        body = escape_markdown(text[:s] + lead) + bold + escape_markdown(trail + text[e:])
    else:
        body = escape_markdown(text)
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return "\n".join(f"> {_escape_line_start(line)}" for line in lines) or "> " + ELLIPSIS


def _hint(answer: Answer) -> str:
    hint = f"confidence: {confidence_label(answer.confidence)}"
    # The answer's date matters for "when" questions; skip it when its source shows it.
    if answer.date and not any(s.date == answer.date for s in answer.sources[:1]):
        hint += f" · date: {escape_markdown(_one_line(answer.date))}"
    return hint


def _unique(sources: Sequence[Source]) -> tuple[Source, ...]:
    """Sources in order, each shown once (several chunks of one story share a source)."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for s in sources:
        key = (s.doc_id, s.url)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return tuple(out)


def _assemble(head: str, sources: Sequence[Source], hint: str | None, label: str) -> str:
    parts = [head]
    if sources:
        parts.append(label + "\n" + "\n".join(f"• {format_source(s)}" for s in sources))
    if hint:
        parts.append(hint)
    return "\n".join(parts)


def _hard_cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else _shorten(text, limit)


def format_answer(answer: Answer, *, limit: int = DISCORD_LIMIT) -> str:
    """The reply text for ``answer``: quote, source links and a confidence hint.

    When the engine abstained, a short "not in the corpus" reply with the closest sources.
    Never longer than ``limit``: extra sources go first, then the quote is shortened at a
    word boundary (keeping the bold answer span in view).
    """
    if answer.abstained or not answer.text:
        closest = _unique(answer.sources)[:_MAX_SOURCES]
        for n in range(len(closest), -1, -1):
            text = _assemble(NOT_FOUND, closest[:n], None, "Closest sources:")
            if len(text) <= limit:
                return text
        return _hard_cut(NOT_FOUND, limit)

    text, span = answer.text, answer.span
    hint = _hint(answer)
    sources = _unique(answer.sources)[:_MAX_SOURCES]

    # A "when" question is answered by the date of the story that reports it.
    lead = (
        f"**{escape_markdown(_one_line(answer.date))}**\n"
        if answer.answer_type == "when" and answer.date
        else ""
    )

    def render(keep: int, n_sources: int) -> str:
        quote_text, quote_span = _clip_quote(text, span, keep)
        head = lead + _quote(quote_text, quote_span)
        return _assemble(head, sources[:n_sources], hint, "Sources:")

    # Escaping never shortens text, so more than ``limit`` characters of quote never fit.
    full = min(len(text), limit)
    # Drop extra sources before touching the quote, but always try to keep the first one.
    for n in range(len(sources), 0, -1):
        out = render(full, n)
        if len(out) <= limit:
            return out
    # One source if a short quote still fits beside it, else none.
    n = min(1, len(sources))
    if n and len(render(min(full, _MIN_QUOTE), n)) > limit:
        n = 0
    # Longest quote that fits: rendered length grows with ``keep``.
    lo, hi = 0, full
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(render(mid, n)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return _hard_cut(render(lo, n), limit)


_HELP_REQUESTS = frozenset({"", "help", "?", "/help"})


def wants_help(text: str) -> bool:
    """Does ``text`` ask how to ask (a bare mention, "help", "?", "/help") rather than
    ask a question? The one rule for the bot and the console."""
    return " ".join(text.split()).lower() in _HELP_REQUESTS


# Small talk that is no question: answered in a line, never searched ("I couldn't find
# that in the corpus" to a "thanks" reads as a malfunction).
_GREETING = re.compile(r"(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening))(?: there)?")
_THANKS = re.compile(
    r"(?:(?:ok(?:ay)?|great|cool|nice|perfect|got it|awesome)[,!]?\s*)?"
    r"(?:thanks?(?: you)?|thx|ty|cheers|many thanks)(?: (?:a lot|so much|very much))?"
    r"|ok(?:ay)?|great|cool|nice|perfect|got it|awesome"
)
GREETING_REPLY = (
    "Hi! Ask me about the news in the corpus, e.g. `@newsqa who met in Brussels?` "
    "(`help` for more)."
)
THANKS_REPLY = "You're welcome. Ask me anything else about the news in the corpus."


def small_talk(text: str) -> str | None:
    """The one-line reply to a greeting or a thanks, or None for anything else (a question,
    a request about the last answer)."""
    said = re.sub(r"[\s.!?,:;)(]+$", "", " ".join(text.split()).lower())
    said = re.sub(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", "", said).strip()
    if _GREETING.fullmatch(said):
        return GREETING_REPLY
    if _THANKS.fullmatch(said):
        return THANKS_REPLY
    return None


def format_help() -> str:
    """How to ask, shown for ``/help`` and for a mention without a question."""
    return "\n".join(
        [
            "**Ask me about the news in the corpus.** I answer with a sentence quoted "
            "from the articles, with links to its sources.",
            "• Mention me with a question: `@newsqa when did NATO reopen talks with Russia?`",
            "• Or use the slash command: `/ask question: who met in Brussels?`",
            "• Or send me a direct message with the question.",
            "• Follow up by replying to my answer (or in its thread, or the DM): "
            "`where was it held?`, `and when?`, `more`, `source?`, `who said that?`.",
            "If the corpus has no answer I say so and show the closest articles. "
            "React with 👍 or 👎 on an answer to tell us how it did.",
            "Admins can run `/reload` after the index is rebuilt.",
        ]
    )
