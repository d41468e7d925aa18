"""Markdown event pages and day indexes, in the style of the Wikipedia Current Events Portal.

An event page holds one event: a ``### [date](...)`` line, a ``# headline`` (often with a
``Category:`` prefix), body paragraphs with ``_Context:_`` tags, then ``### Source`` and
``### Related`` link lists. A day index holds many: ``##### Category`` headers, each event a
``### [headline](link)`` line followed by its summary.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from retrieval.dates import normalize_date
from retrieval.ingest.articles import FOLLOW
from retrieval.ingest.records import Document, Related
from retrieval.ingest.textnorm import clean_url, comparable, short_title

_EVENT_DATE = re.compile(r"^###\s+\[(\d{4}-\d{1,2}-\d{1,2})\]\(")
_INDEX_DATE = re.compile(r"^##\s+\[(\d{4}-\d{1,2}-\d{1,2})\]\(")
_INDEX_EVENT = re.compile(r"^###\s+\[(.+)\]\(([^)\s]+)\)\s*$")
_INDEX_HEADER = re.compile(r"^#####\s+(.+)$")
_HEADLINE = re.compile(r"^#\s+(\S.*)$")
_CONTEXT = re.compile(r"^_Context:\s*(.*?)_?\s*$")
_LINK_ITEM = re.compile(r"^\d+[.)]\s*\[(.*)\]\(([^)\s]*)\)\s*(?:_Context:\s*(.*?)_)?\s*$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_IMAGE_TITLE = re.compile(r"^(?:cover\s+)?(?:image|photo|picture|thumbnail)$", re.I)
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".bmp")
# "Category: headline": a short noun phrase, then a capitalised statement.
_CATEGORY = re.compile(r"^([^:]{2,60}):(?:\s+(?=[A-Z0-9\"“‘'])|(?=[A-Z]))")
_VERBS_AND_PRONOUNS = (
    "say says said tell tells told report reports reported announce announces announced "
    "confirm confirms confirmed deny denies denied warn warns warned claim claims claimed "
    "add adds added state states stated is are was were be been will would can could has "
    "have had do does did according that this these those i we you he she they it"
)
_NOT_CATEGORY_WORDS = frozenset(_VERBS_AND_PRONOUNS.split())


def markdown_format(lines: list[str], text: str) -> str | None:
    """``"day_index"``, ``"event"`` or None for a file's non-empty, stripped ``lines``."""
    head = lines[:8]
    if any(_INDEX_DATE.match(ln) for ln in head) and any(_INDEX_EVENT.match(ln) for ln in lines):
        return "day_index"
    has_date = any(_EVENT_DATE.match(ln) for ln in head)
    has_sources = "### Source" in text
    if any(_HEADLINE.match(ln) for ln in head) and (has_date or has_sources):
        return "event"
    if has_date and has_sources:  # an event page whose "# headline" line is missing
        return "event"
    return None


def split_category(headline: str) -> tuple[str | None, str]:
    """Split ``"Category: statement"`` into ``(category, statement)``.

    A category is a short noun phrase at the very start (at most 8 words, no sentence
    punctuation, no reporting verb) followed by a capitalised statement; an ordinary colon
    inside a sentence is left alone. Repeated prefixes are all dropped, the first is kept.
    """
    category: str | None = None
    rest = headline.strip()
    for _ in range(3):
        m = _CATEGORY.match(rest)
        if not m or not _looks_like_category(m.group(1).strip()):
            break
        category = category or m.group(1).strip()
        rest = rest[m.end() :].strip()
    return category, rest


def _looks_like_category(prefix: str) -> bool:
    words = prefix.split()
    if not 1 <= len(words) <= 8 or not (prefix[0].isupper() or prefix[0].isdigit()):
        return False
    if re.search(r"[.!?;\"“”]", re.sub(r"(?:[A-Z]\.)+", "", prefix)):  # "U.S." is fine
        return False
    # A capitalised word inside the phrase is a name ("United States"), not a verb.
    return not any(
        w.lower().strip(",()") in _NOT_CATEGORY_WORDS for i, w in enumerate(words)
        if i == 0 or not w[0].isupper()
    )  # fmt: skip


def _md(text: str) -> str:
    """Plain text from a Markdown fragment: entities decoded, links to their text, wiki quotes."""
    text = _MD_LINK.sub(r"\1", html.unescape(text)).replace("''", '"')
    return " ".join(text.split())


# Web chatter pasted with a source's excerpt: an author credit before the wire dateline
# ("By Ann Lee and Bo Ma BRASILIA (Reuters) - ..."), a "Read more at site." tail, a share
# line, a site's tagline, a live blog's header.
_CREDIT = re.compile(r"^By (?:[A-Z][\w.'’-]*\s+){1,3}(?:and (?:[A-Z][\w.'’-]*\s+){1,3})?"
                     r"(?=[A-Z]{2,}[A-Z ,.'’-]*\s\([A-Za-z]{2,8}\)\s*[-–—])")  # fmt: skip
_READ_MORE = re.compile(r"\.*\s*\bRead more (?:at|on) [\w.-]+\.?$", re.I)
# A site's description of itself in place of an excerpt ("Get the latest international news
# ... at ABCNews.com", "News - Your daily dose of information: ... Stay up to date with
# Euronews."), or after a cut excerpt ("... hours after a wal - Kenya breaking news | ...").
_TAGLINE = re.compile(
    r"^(?:\w+ - )?(?:get the latest|your daily dose)\b.*|.*\bstay up to date with [\w.]+\.?$",
    re.I,
)
_TAGLINE_WORDS = 40
# A live blog's header between the dateline and its first entry ("OZU, Japan (AP) — The
# latest on the earthquakes in Japan (all times local): 1:30 p.m. Japanese media say ...").
_LIVE_HEADER = re.compile(
    r"\bThe latest on [^:]{1,120}\(all times local\):\s*(?:\d{1,2}(?::\d\d)? ?[ap]\.?m\.?\s+)?",
    re.I,
)
_SITE_TAIL = re.compile(r"\s+[-|]\s+[^-|.!?]*\bbreaking news\b.*$", re.I)


def _paragraph(lines: list[str]) -> str:
    """One paragraph of a page's body or an item's summary, the source's chatter left out."""
    text = _READ_MORE.sub(".", _CREDIT.sub("", _LIVE_HEADER.sub("", " ".join(lines))))
    if _TAGLINE.match(text) and len(text.split()) <= _TAGLINE_WORDS:
        return ""
    text = _SITE_TAIL.sub(" …", text)
    return "" if FOLLOW.match(text) and len(text.split()) <= 8 else text


def _is_image_link(title: str, url: str) -> bool:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return bool(_IMAGE_TITLE.match(title.strip())) or path.endswith(_IMAGE_EXT)


def _split_contexts(raw: str) -> tuple[str, ...]:
    """Split ``a, b, c`` tags; a bare year joins the tag before it (``election, 2016``)."""
    tags: list[str] = []
    for part in (_md(p) for p in raw.split(",")):
        if re.fullmatch(r"\d{4}", part) and tags:
            tags[-1] = f"{tags[-1]}, {part}"
        elif part:
            tags.append(part)
    return tuple(tags)


def _compose(title: str, paragraphs: list[str]) -> str:
    """Headline then body; drop a paragraph that only repeats (part of) the headline."""
    out, head = [title], f" {comparable(title)} "
    for i, para in enumerate(p for p in paragraphs if comparable(p)):
        norm = f" {comparable(para)} "
        if norm in head:
            continue
        if i == 0 and head in norm:
            out = []  # the body restates the headline in full and goes on
        out.append(para)
    return "\n\n".join(out)


def parse_event_page(text: str, rel: str) -> list[Document]:
    """Parse a Markdown page holding one event: date, headline, body, sources, related."""
    day: str | None = None
    headline = ""
    paragraphs: list[list[str]] = [[]]
    urls: list[str] = []
    related: list[Related] = []
    contexts: tuple[str, ...] = ()
    section = "body"
    for line in (ln.strip() for ln in text.split("\n")):
        if (m := _EVENT_DATE.match(line)) and day is None:
            day = normalize_date(m.group(1))
        elif (m := _HEADLINE.match(line)) and not headline:
            headline = _md(m.group(1))
        elif line.startswith("#"):
            section = line.strip("#: ").lower().rstrip("s")  # "source", "related", ...
        elif section == "body" and (m := _CONTEXT.match(line)):
            contexts = _split_contexts(m.group(1))
        elif section in ("source", "related") and (m := _LINK_ITEM.match(line)):
            title, url = _md(m.group(1)), clean_url(m.group(2))
            if section == "related":
                related.append(Related(title, url, _split_contexts(m.group(3) or "")))
            elif not _is_image_link(m.group(1), url) and url not in urls:
                urls.append(url)
        elif section == "body" and (headline or day is not None):
            if line:
                paragraphs[-1].append(_md(line))
            elif paragraphs[-1]:
                paragraphs.append([])
    if not headline:  # no "# " line: the first words of the body stand in for it
        if not any(paragraphs):
            return []
        headline = short_title(" ".join(paragraphs[0]))
    category, title = split_category(headline)
    body = [_paragraph(p) for p in paragraphs if p]
    text_, rels = _compose(title, body), tuple(related)
    return [Document(rel, title, text_, day, tuple(urls), rel, "event", category, contexts, rels)]


@dataclass
class _IndexItem:
    title: str
    url: str
    category: str | None
    summary: list[str] = field(default_factory=list)
    contexts: tuple[str, ...] = ()


def parse_day_index(text: str, rel: str) -> list[Document]:
    """Parse a day index page: one document per ``### [headline](link)`` event."""
    day: str | None = None
    category: str | None = None
    items: list[_IndexItem] = []
    current: _IndexItem | None = None
    for line in (ln.strip() for ln in text.split("\n")):
        if (m := _INDEX_DATE.match(line)) and day is None:
            day = normalize_date(m.group(1))
        elif m := _INDEX_HEADER.match(line):
            category, current = _md(m.group(1)), None
        elif m := _INDEX_EVENT.match(line):
            current = _IndexItem(_md(m.group(1)), clean_url(m.group(2)), category)
            items.append(current)
        elif not line or line.startswith("#") or current is None:
            current = None
        elif m := _CONTEXT.match(line):
            current.contexts = _split_contexts(m.group(1))
        else:
            current.summary.append(_md(line))
    docs: list[Document] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        slug = PurePosixPath(item.url.split("?", 1)[0]).stem if item.url else ""
        slug = slug if slug and slug not in seen else str(n)
        seen.add(slug)
        text_, urls = _compose(item.title, [_paragraph(item.summary)]), (item.url,)
        doc_id, cat = f"{rel}#{slug}", item.category
        docs.append(
            Document(doc_id, item.title, text_, day, urls, rel, "event", cat, item.contexts)
        )
    return docs
