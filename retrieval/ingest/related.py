"""Corpus-level passes over event documents: day-index items merged into their pages,
Related items as events, and event links.

A day index lists an event as ``### [headline](link)``; when the link names an event page
of the corpus, the item and the page are one event told twice. They become one document
(the page's, with its sources), so that search and the sources of an answer do not show
the same story twice under one headline.

An event page's ``### Related:`` list names other events, each a dated headline; a reader
sees them, so each becomes an event of its own (dated from its link path, the headline as
its text, its ``_Context:_`` tags as metadata) unless the corpus already holds that event
as a page or a day-index item, in which case only the tags are merged into it.

Events without a usable source URL (day-index items, Related items, pages without sources)
get a link a reader can open: the corpus's own relative link resolved against a base URL
when one is set, else the Wikipedia Current Events Portal page of the event's date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from urllib.parse import quote

from retrieval.dates import MONTH_NAMES
from retrieval.ingest.events import split_category
from retrieval.ingest.records import Document
from retrieval.ingest.textnorm import comparable

PORTAL = "https://en.wikipedia.org/wiki/Portal:Current_events/"
_LINK_DATE = re.compile(r"(?:^|/)(\d{4})/(\d{1,2})/(\d{1,2})/[^/]+$")
_SAME_HEADLINE = 0.6  # word Jaccard of two headlines of one day that name one event
_SAME_PARAGRAPH = 0.8  # word Jaccard of two wordings of one paragraph ("£710m", "GBP710m")


def link_date(link: str) -> str | None:
    """The ISO date in an event link path (``/news/2016/04/8/slug.md``), or None."""
    m = _LINK_DATE.search(link.split("?", 1)[0].split("#", 1)[0])
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def portal_url(iso: str) -> str:
    """The Current Events Portal page of a day: ``.../Portal:Current_events/2016_April_20``."""
    d = date.fromisoformat(iso)
    return f"{PORTAL}{d.year}_{MONTH_NAMES[d.month - 1]}_{d.day}"


def is_web_url(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _key(link: str) -> str | None:
    """The last four path parts of an event link (year/month/day/slug), or None."""
    parts = [p for p in link.split("?", 1)[0].split("#", 1)[0].split("/") if p]
    return "/".join(parts[-4:]) if len(parts) >= 4 and link_date(link) else None


def _words(text: str) -> frozenset[str]:
    return frozenset(comparable(text).split())


def _similar(a: frozenset[str], b: frozenset[str], least: float) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= least


def _same_headline(a: frozenset[str], b: frozenset[str]) -> bool:
    return _similar(a, b, _SAME_HEADLINE)


def _merge_contexts(doc: Document, contexts: Sequence[str]) -> Document:
    merged = tuple(dict.fromkeys((*doc.contexts, *contexts)))
    return doc if merged == doc.contexts else replace(doc, contexts=merged)


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def merge_day_items(docs: Sequence[Document]) -> list[Document]:
    """``docs`` with every day-index item whose link names an event page of the corpus
    merged into that page: the page keeps its id, title and sources; paragraphs of the
    item that the page lacks are added to its text, and the item's tags join its own."""
    pages: dict[str, int] = {}
    for i, doc in enumerate(docs):
        if doc.kind == "event" and "#" not in doc.doc_id and (key := _key(doc.path)):
            pages.setdefault(key, i)
    merged: dict[int, Document] = {}
    dropped: set[int] = set()
    for i, doc in enumerate(docs):
        if doc.kind != "event" or "#" not in doc.doc_id:
            continue
        link = next((u for u in doc.urls if not is_web_url(u)), None)
        page = pages.get(_key(link) or "") if link else None
        if page is None:
            continue
        target = merged.get(page, docs[page])
        known = comparable(target.text)
        own = [_words(p) for p in _paragraphs(target.text)]
        extra = [
            p for p in _paragraphs(doc.text)
            if comparable(p) not in known
            and not any(_similar(_words(p), w, _SAME_PARAGRAPH) for w in own)
        ]  # fmt: skip
        text = "\n\n".join([target.text.rstrip(), *extra]) if extra else target.text
        urls = tuple(dict.fromkeys((*target.urls, *(u for u in doc.urls if is_web_url(u)))))
        merged[page] = _merge_contexts(replace(target, text=text, urls=urls), doc.contexts)
        dropped.add(i)
    return [merged.get(i, doc) for i, doc in enumerate(docs) if i not in dropped]


def add_related_events(docs: Sequence[Document]) -> list[Document]:
    """``docs`` followed by one event per Related item not already among them.

    A Related item is the same event as a document when its link names that document's
    page (same date folder and slug), or when both are dated that day and their headlines
    share most words (slugs differ by category prefixes, wordings by a few characters).
    Items without a date in their link are left out: nothing tells when they happened.
    """
    out = list(docs)
    ids = {d.doc_id for d in docs}
    by_key: dict[str, int] = {}
    by_day: dict[str, list[tuple[frozenset[str], int]]] = {}

    def remember(i: int, link: str | None) -> None:
        doc = out[i]
        if link and (key := _key(link)):
            by_key.setdefault(key, i)
        if doc.kind == "event" and doc.date:
            by_day.setdefault(doc.date, []).append((_words(doc.title), i))

    for i, doc in enumerate(docs):
        if doc.kind == "event":
            own = doc.path if "#" not in doc.doc_id else (doc.url or "")
            remember(i, own)
    for doc in docs:
        for item in doc.related:
            day = link_date(item.url)
            if day is None:
                continue
            category, title = split_category(item.title)
            words = _words(title)
            key = _key(item.url)
            found = by_key.get(key) if key else None
            if found is None:
                found = next((j for w, j in by_day.get(day, ()) if _same_headline(words, w)), None)
            if found is not None:
                out[found] = _merge_contexts(out[found], item.contexts)
                continue
            doc_id = item.url.lstrip("/") if key and not is_web_url(item.url) else key
            if not doc_id or doc_id in ids:
                doc_id = f"{doc.doc_id}#related-{len(out)}"
            ids.add(doc_id)
            out.append(
                Document(
                    doc_id=doc_id,
                    title=title,
                    text=title,
                    date=day,
                    urls=(item.url,) if item.url else (),
                    path=doc.path,
                    kind="event",
                    category=category,
                    contexts=item.contexts,
                )
            )
            remember(len(out) - 1, item.url)
    return out


def link_events(docs: Sequence[Document], base: str = "") -> list[Document]:
    """Give every dated event without a web source URL a link a reader can open.

    A relative corpus link (``/news/2016/04/20/slug.md``) is resolved against ``base``
    when it is set; otherwise, or without such a link, the event links the Current Events
    Portal page of its date. Web URLs are kept as they are, first. With ``base`` set, an
    article or record without any source links its own corpus file under it.
    """
    out = []
    for doc in docs:
        web = tuple(u for u in doc.urls if is_web_url(u))
        if doc.kind != "event" and not doc.urls and base and doc.path:
            # An article without a source: its own file, where the corpus is published.
            out.append(replace(doc, urls=(f"{base.rstrip('/')}/{quote(doc.path)}",)))
            continue
        if doc.kind != "event" or (web and web == doc.urls):
            out.append(doc)
            continue
        relative = next((u for u in doc.urls if not is_web_url(u)), None)
        if base and relative:
            link: str | None = f"{base.rstrip('/')}/{relative.lstrip('/')}"
        elif doc.date:
            link = portal_url(doc.date)
        else:
            link = None
        urls = web + ((link,) if link and not web else ())
        out.append(doc if urls == doc.urls else replace(doc, urls=urls))
    return out
