"""Raw article texts as scraped from the web: a title line, then the text and its boilerplate.

Everything here is about telling the article from the page around it (menus, bylines,
photo credits, follow-us lines, teaser blocks), line by line, without any HTML to go by.
"""

from __future__ import annotations

import html
import re

from retrieval.dates import normalize_date
from retrieval.ingest.records import Document
from retrieval.ingest.textnorm import clean_url, comparable, short_title

_MENU = re.compile(r"^(?:\d+[.)]\s*)?skip to\b", re.I)
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$")
_CREDIT_START = re.compile(r"^(?:photo\s+credit|image|photo|picture|photograph|credit)s?\s*:", re.I)
_CREDIT_END = re.compile(r"\s[-–—|]\s+(?:\S+\s+){0,4}(?:photo|image|picture|photograph)s?$", re.I)
FOLLOW = re.compile(
    r"^(?:follow us\b|subscribe (?:to|for|now)\b|sign up (?:for|to)\b|share this\b"
    r"|click here\b|advertisement$|mời quý độc giả|.*\btheo dõi\b.*\btrên$)",
    re.I,
)
_RELATED_MARK = re.compile(
    r"^(?:related(?: (?:stories|articles|news|content|coverage))?|read more|see also"
    r"|more on this(?: topic)?|you may also like)\s*:?$",
    re.I,
)
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{1,40}\s[-–—]\s+[^.!?]{1,60}$")
_BYLINE = re.compile(r"^[Bb]y\s+[A-Z]")
_SPEECH = re.compile(r"\b(?:said|says|told|tells|added|adds|asked)\b", re.I)
_TERMINAL = (".", "!", "?", '"', "”", "'", "’", ")", "…", ":")


def parse_article(text: str, rel: str) -> list[Document]:
    """Parse raw article text: the first line is the title, the rest is cleaned of boilerplate.

    Dropped: "Skip to ..." menus, repeats of the title and of the line before, lone URL
    lines (kept as the document's links, proxies unwrapped), photo credits and the caption
    before an ``Image:`` credit, follow/subscribe lines, datelines and bylines above the
    first sentence (a byline's date becomes the document's date), a "Related" block whose
    teasers repeat, and short unpunctuated lines left dangling at the end (captions).
    """
    lines = [html.unescape(ln).strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if not (_MENU.match(ln) and len(ln.split()) <= 8)]
    first = next((i for i, ln in enumerate(lines) if ln), None)
    if first is None:
        return []
    title = " ".join(lines[first].split())
    start = first + 1
    if len(title.split()) > 20:  # no headline: the text starts straight away
        title, start = short_title(title), first
    kept, day, urls = _clean_article_lines(_cut_teasers(lines[start:]), title)
    body = [p.strip() for p in re.split(r"\n{2,}", "\n".join(kept)) if p.strip()]
    full = "\n\n".join([title, *body]) if start > first else "\n\n".join(body)
    return [Document(rel, title, full, day, tuple(urls), rel, "article")]


def _cut_teasers(lines: list[str]) -> list[str]:
    """Cut from a lone "Related" line on when the teasers after it repeat themselves."""
    for i, line in enumerate(lines):
        if _RELATED_MARK.match(line):
            rest = [comparable(ln) for ln in lines[i + 1 :] if ln]
            if len(rest) != len(set(rest)):
                return lines[:i]
    return lines


def _is_sentence(line: str) -> bool:
    words = len(line.split())
    return words >= 20 or (words >= 10 and line.endswith(_TERMINAL))


def _is_credit(line: str) -> bool:
    words = len(line.split())
    if _CREDIT_START.match(line) and words <= 12:
        return True
    return bool(_CREDIT_END.search(line)) and words <= 25 and not line.endswith(".")


def _is_byline(line: str) -> bool:
    """A dateline, an author line or an author-and-date line (checked above the first sentence)."""
    if len(line.split()) > 12 or line.endswith((".", "!", "?")):
        return False
    return bool(
        _DATELINE.match(line)
        or normalize_date(line)
        or (_BYLINE.match(line) and len(line.split()) <= 6)
    )


def _is_dangling(line: str) -> bool:
    return len(line.split()) <= 12 and not line.endswith(_TERMINAL)


def _clean_article_lines(lines: list[str], title: str) -> tuple[list[str], str | None, list[str]]:
    """Drop boilerplate lines; return the kept lines ("" between paragraphs), date and URLs."""
    following = [""] * len(lines)  # the next non-empty line after each line
    for i in range(len(lines) - 2, -1, -1):
        following[i] = lines[i + 1] or following[i + 1]
    kept: list[str] = []
    urls: list[str] = []
    day: str | None = None
    in_top = True
    previous = comparable(title)
    for line, nxt in zip(lines, following, strict=True):
        if not line:
            kept.append("")
            continue
        norm, in_top = comparable(line), in_top and not _is_sentence(line)
        repeat = norm in (previous, comparable(title))
        previous = norm
        if _URL_LINE.match(line):
            url = clean_url(line)
            urls += [] if url in urls else [url]
        elif in_top and _is_byline(line):
            day = day or normalize_date(line)
        elif not (repeat or _is_credit(line) or FOLLOW.match(line)) and not (
            _CREDIT_START.match(nxt) and _is_dangling(line)  # a caption above its credit
        ):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    if kept and _is_dangling(kept[-1]) and not _SPEECH.search(kept[-1]):
        kept.pop()  # a caption or heading left at the end with no text after it
    return kept, day, urls
