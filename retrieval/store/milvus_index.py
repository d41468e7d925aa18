"""A published index version read from Milvus (see :mod:`retrieval.store.milvus`).

Documents' metadata is held in memory; chunks, chunk vectors and sentence vectors are
asked of Milvus when a question needs them, a few round trips per question.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.ingest.chunking import Chunk, embedding_text
from retrieval.store.base import DocInfo, Manifest

BATCH = 1000  # rows per insert or get: well under Milvus's message size limits
CHUNK_FIELDS = ("chunk_id", "doc_id", "text", "start", "end", "n_tokens", "spans", "first_row")
_CACHED_SENTENCES = 4096  # sentence vectors kept from the latest fetches

#: Translates pymilvus failures inside its block into our errors, naming what was done.
Errors = Callable[[str], AbstractContextManager[None]]


def query_all(client: Any, name: str, fields: list[str]) -> list[dict[str, Any]]:
    """Every row of a collection (an iterator: a plain query is capped at 16,384 rows)."""
    out: list[dict[str, Any]] = []
    it = client.query_iterator(name, batch_size=4096, output_fields=fields)
    try:
        while batch := it.next():
            out.extend(batch)
    finally:
        it.close()
    return out


class MilvusIndex:
    """A published version in Milvus (a :class:`~retrieval.store.base.SearchIndex`)."""

    def __init__(
        self,
        client: Any,
        errors: Errors,
        location: str,
        manifest: Manifest,
        docs: dict[str, DocInfo],
        chunks_collection: str,
        sentences_collection: str,
        size: int,
    ) -> None:
        self._client = client
        self._errors = errors
        self._location = location
        self._manifest = manifest
        self._docs = docs
        self._chunks = chunks_collection
        self._sentences = sentences_collection
        self._size = size
        # The answer step asks for the sentence vectors of each retrieved chunk in turn;
        # fetching them with the chunks saves a round trip per chunk.
        self._sentences_cache: dict[int, np.ndarray] = {}
        self._vectors_cache: dict[int, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    @property
    def location(self) -> str:
        return f"{self._location} ({self._chunks})"

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def docs(self) -> Mapping[str, DocInfo]:
        return self._docs

    def __len__(self) -> int:
        return self._size

    def lexical_columns(self) -> tuple[list[str], np.ndarray]:
        with self._errors("reading chunk texts"):
            rows = query_all(self._client, self._chunks, ["pos", "text", "title", "day"])
        rows.sort(key=lambda r: r["pos"])
        texts = [embedding_text(r["title"], r["text"]) if r["title"] else r["text"] for r in rows]
        return texts, np.array([r["day"] for r in rows], dtype=np.int32)

    def dense_search(
        self,
        qvec: np.ndarray,
        k: int,
        *,
        since: int | None = None,
        until: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        k = min(k, self._size)
        if k <= 0:
            return []
        where = []
        if since is not None:
            where.append(f"(day == 0 or day >= {int(since)})")
        if until is not None:
            where.append(f"(day == 0 or day <= {int(until)})")
        if allowed is not None:
            kept = np.flatnonzero(allowed)
            if len(kept) <= len(allowed) - len(kept):
                where.append(f"pos in {kept.tolist()}")
            else:
                where.append(f"pos not in {np.flatnonzero(~allowed).tolist()}")
        params: dict[str, Any] = {"metric_type": "IP"}
        if self._manifest.index_type != "flat":
            params["params"] = {"ef": max(128, k)}
        with self._errors("searching"):
            (found,) = self._client.search(
                self._chunks, [np.asarray(qvec, dtype=np.float32).tolist()], anns_field="vector",
                limit=k, filter=" and ".join(where), output_fields=["vector"],
                search_params=params,
            )  # fmt: skip
        # The retriever rescores these chunks next: vectors come free with the search.
        with self._cache_lock:
            self._vectors_cache = {
                int(h["pos"]): np.asarray(h["entity"]["vector"], dtype=np.float32) for h in found
            }
        return [(int(h["pos"]), float(h["distance"])) for h in found]

    def _get(self, name: str, key: str, ids: Sequence[int], fields: list[str]) -> list[Any]:
        """Rows by primary key, in the order asked (Milvus returns them in its own)."""
        by_id: dict[int, Any] = {}
        ids = [int(i) for i in ids]
        with self._errors(f"reading {name}"):
            for start in range(0, len(ids), BATCH):
                part = ids[start : start + BATCH]
                for r in self._client.get(name, ids=part, output_fields=fields):
                    by_id[int(r[key])] = r
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise IndexCorruptError(
                f"index in Milvus at {self._location} lacks {key} {missing[:5]} of {name}"
            )
        return [by_id[i] for i in ids]

    def chunk_vectors(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        positions = [int(p) for p in positions]
        with self._cache_lock:
            cache = self._vectors_cache  # another thread may replace it: keep this one
        missing = [p for p in positions if p not in cache]
        got = dict(zip(missing, (r["vector"] for r in self._get(
            self._chunks, "pos", missing, ["vector"])), strict=True))  # fmt: skip
        return _matrix([cache[p] if p in cache else got[p] for p in positions],
                       self._manifest.dimension)  # fmt: skip

    def fetch_chunks(self, positions: Sequence[int]) -> list[tuple[Chunk, int]]:
        rows = self._get(self._chunks, "pos", positions, list(CHUNK_FIELDS))
        fetched = [(_chunk(r), int(r["first_row"])) for r in rows]
        wanted = [i for c, first in fetched for i in range(first, first + len(c.sentences))]
        found = self._get(self._sentences, "row", wanted[:_CACHED_SENTENCES], ["row", "vector"])
        with self._cache_lock:
            self._sentences_cache = {
                int(r["row"]): np.asarray(r["vector"], dtype=np.float32) for r in found
            }
        return fetched

    def sentence_vectors_at(self, rows: Sequence[int]) -> np.ndarray:
        rows = [int(i) for i in rows]
        with self._cache_lock:
            cache = self._sentences_cache  # another thread may replace it: keep this one
        if all(i in cache for i in rows):
            return _matrix([cache[i] for i in rows], self._manifest.dimension)
        got = self._get(self._sentences, "row", rows, ["vector"])
        return _matrix([r["vector"] for r in got], self._manifest.dimension)

    def chunk_doc_ids(self) -> Sequence[str]:
        # Two short fields, not the texts: the first follow-up after a load reads these.
        with self._errors("reading chunk documents"):
            rows = query_all(self._client, self._chunks, ["pos", "doc_id"])
        rows.sort(key=lambda r: r["pos"])
        return [str(r["doc_id"]) for r in rows]

    def all_chunks(self) -> Sequence[Chunk]:
        with self._errors("reading chunks"):
            rows = query_all(self._client, self._chunks, ["pos", *CHUNK_FIELDS])
        rows.sort(key=lambda r: r["pos"])
        return [_chunk(r) for r in rows]


def _chunk(r: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=r["chunk_id"], doc_id=r["doc_id"], text=r["text"], start=int(r["start"]),
        end=int(r["end"]), n_tokens=int(r["n_tokens"]),
        sentences=tuple((int(a), int(b)) for a, b in r["spans"]),
    )  # fmt: skip


def _matrix(vectors: list[Any], dim: int) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dim), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)
