"""The store seam: where a built index is kept, published and loaded from.

A store keeps versions of the index. A build writes a complete new version and then
publishes it in one atomic step, so readers (bot replicas, the CLI) always load either the
old or the new version, never a mix. Backends: ``faiss`` (a folder of versions with a
``CURRENT`` pointer; the default). ``factory.open_store`` picks one from the settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.ingest.records import Document, Related

if TYPE_CHECKING:
    import numpy as np

    from retrieval.ingest.chunking import Chunk
    from retrieval.store.faiss import Index

FORMAT_VERSION = 2


@dataclass(frozen=True)
class Manifest:
    """How a version was built; checked on load."""

    model: str
    dimension: int
    tokenizer: str
    chunk_tokens: int
    chunk_overlap: int
    corpus_fingerprint: str
    documents: int
    chunks: int
    skipped_files: int
    index_type: str
    created_at: str
    version: str = ""
    format_version: int = FORMAT_VERSION
    files: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class DocInfo:
    """What the index keeps of a document besides its chunks."""

    doc_id: str
    title: str
    date: str | None
    urls: tuple[str, ...]
    path: str
    kind: str
    category: str | None
    contexts: tuple[str, ...]
    related: tuple[Related, ...]
    content_hash: str

    @property
    def url(self) -> str | None:
        return self.urls[0] if self.urls else None

    @classmethod
    def of(cls, doc: Document) -> DocInfo:
        return cls(
            doc.doc_id, doc.title, doc.date, doc.urls, doc.path, doc.kind,
            doc.category, doc.contexts, doc.related, doc.content_hash,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocInfo:
        related = tuple(
            Related(r["title"], r["url"], tuple(r.get("contexts", ()))) for r in d["related"]
        )
        return cls(
            d["doc_id"], d["title"], d["date"], tuple(d["urls"]), d["path"], d["kind"],
            d["category"], tuple(d["contexts"]), related, d["content_hash"],
        )  # fmt: skip


class Store(Protocol):
    """Versions of the index in one place (a folder, a database)."""

    #: Where the store is, as messages show it.
    location: str

    def current_version(self) -> str | None:
        """The published version's name, or None if nothing was ever published."""
        ...

    def locate(self) -> None:
        """Fail fast (IndexMissingError, IndexCorruptError) when there is nothing to load."""
        ...

    def load(self, *, model: str | None = None, dimension: int | None = None) -> Index:
        """The published version, checked against the model it will be queried with."""
        ...

    def write_lock(self) -> AbstractContextManager[None]:
        """Held by the one process writing a new version; a second writer is refused."""
        ...

    def publish(
        self,
        manifest: Manifest,
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        chunks: Sequence[Chunk],
        docs: Sequence[DocInfo],
    ) -> str:
        """Write a new version and make it current atomically; returns its name."""
        ...
