"""The store seam: where a built index is kept, published and loaded from.

A store keeps versions of the index. A build writes a complete new version and then
publishes it in one atomic step, so readers (bot replicas, the CLI) always load either the
old or the new version, never a mix. Backends: ``faiss`` (a folder of versions with a
``CURRENT`` pointer; the default) and ``milvus`` (collections in Milvus or Milvus Lite,
published by switching an alias). ``factory.open_store`` picks one from the settings.

A loaded version is a :class:`SearchIndex`: search and answering ask it for what they
need (a dense top list within a period, some chunks, some sentence vectors) rather than
reading its arrays, so a backend may keep everything in memory or in a server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval.ingest.records import Document, Related

if TYPE_CHECKING:
    from retrieval.ingest.chunking import Chunk

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
    # What computed the vectors (retrieval.encoder): queries are encoded by the same.
    # Versions written before these fields existed were all encoded by torch.
    encoder: str = "torch"
    encoder_digest: str = ""


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


def period_mask(days: np.ndarray, since: int | None, until: int | None) -> np.ndarray | None:
    """Chunks eligible in [since, until] (day numbers), or None for all. A period excludes
    documents dated outside it; undated documents (day 0) stay eligible."""
    if since is None and until is None:
        return None
    dated = days > 0
    mask = np.ones(len(days), dtype=bool)
    if since is not None:
        mask &= ~dated | (days >= since)
    if until is not None:
        mask &= ~dated | (days <= until)
    return mask


class SearchIndex(Protocol):
    """A loaded version of the index, as search and answering read it.

    Chunks are addressed by position (0 .. len-1); sentence vectors by row, the rows of a
    chunk's sentences being consecutive from the row :meth:`fetch_chunks` gives with it.
    """

    @property
    def manifest(self) -> Manifest: ...

    @property
    def docs(self) -> Mapping[str, DocInfo]:
        """Every document by id, in corpus order."""
        ...

    @property
    def location(self) -> str:
        """Where this version is, as messages show it."""
        ...

    def __len__(self) -> int: ...

    def lexical_columns(self) -> tuple[list[str], np.ndarray]:
        """Every chunk's text for BM25 (title and text) and its day number, by position."""
        ...

    def dense_search(
        self,
        qvec: np.ndarray,
        k: int,
        *,
        since: int | None = None,
        until: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Top-k (position, inner product) for one unit query vector among the chunks dated
        in [since, until] (day numbers; undated chunks always qualify) and, if given, the
        ``allowed`` ones (one flag per position)."""
        ...

    def chunk_vectors(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """The unit vectors of some chunks, one row per position, in the order given."""
        ...

    def fetch_chunks(self, positions: Sequence[int]) -> list[tuple[Chunk, int]]:
        """Some chunks, in the order given, each with its first sentence-vector row."""
        ...

    def sentence_vectors_at(self, rows: Sequence[int]) -> np.ndarray:
        """Sentence vectors by row, in the order given."""
        ...

    def all_chunks(self) -> Sequence[Chunk]:
        """Every chunk in position order (what a rebuild reuses)."""
        ...

    def chunk_doc_ids(self) -> Sequence[str]:
        """Every chunk's document id, by position (the chunks of a conversation's stories)."""
        ...


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

    def load(self, *, model: str | None = None, dimension: int | None = None) -> SearchIndex:
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
