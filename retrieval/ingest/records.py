"""What reading a corpus produces: documents, their related links, skipped files.

A leaf module (it imports nothing of newsqa), so every format parser can build Documents
without importing :mod:`.documents`, which dispatches to the parsers. Import these names
from :mod:`retrieval.documents`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Related:
    """A link from an event page to a related event, with its ``_Context:_`` tags."""

    title: str
    url: str
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One news document: an event, an article, or one JSONL record."""

    doc_id: str
    title: str
    text: str
    date: str | None = None  # ISO YYYY-MM-DD
    urls: tuple[str, ...] = ()  # source links, first one is the main link
    path: str = ""  # corpus-relative path of the file it came from
    kind: str = "article"  # "event", "article" or "jsonl"
    category: str | None = None  # e.g. "NATO-Russia relations" from a headline prefix
    contexts: tuple[str, ...] = ()  # the event's own _Context:_ tags
    related: tuple[Related, ...] = field(default=())

    @property
    def url(self) -> str | None:
        return self.urls[0] if self.urls else None

    @property
    def content_hash(self) -> str:
        """A hash of everything that goes into the index, to detect changed documents."""
        h = hashlib.sha256()
        for part in (self.doc_id, self.title, self.date or "", "\n".join(self.urls), self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    files: int
