"""The saved index: a folder of versions, each recording how it was built.

Layout::

    INDEX_DIR/
      CURRENT                 name of the published version (replaced by rename)
      .lock                   held by the process writing a new version
      versions/<name>/        manifest.json, vectors.npy (one row per chunk), sentences.npy
                              (one row per chunk sentence), index.faiss, chunks.jsonl,
                              documents.jsonl

A new version is written beside the old ones and published by renaming a new CURRENT
over the old, so readers always see a complete version, whatever happens to a writer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.dates import day_number
from retrieval.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
)
from retrieval.ingest.chunking import Chunk, embedding_text
from retrieval.store.ann import ANN_TYPE, make_ann_index, search_ann, search_flat
from retrieval.store.base import FORMAT_VERSION, DocInfo, Manifest, period_mask

log = logging.getLogger(__name__)

# What publish() writes to CURRENT: anything else (binary junk, a path) is not followed.
_VERSION_NAME = re.compile(r"\w[\w.-]{0,199}")
_FILES = ("vectors.npy", "sentences.npy", "index.faiss", "chunks.jsonl", "documents.jsonl")


@dataclass(frozen=True)
class Index:
    """A loaded version: vectors, the FAISS index over them, chunks and documents, all in
    memory (a :class:`~retrieval.store.base.SearchIndex`)."""

    path: Path
    manifest: Manifest
    vectors: np.ndarray
    faiss_index: faiss.Index
    chunks: tuple[Chunk, ...]
    docs: dict[str, DocInfo]
    sentence_vectors: np.ndarray  # rows of chunk i's sentences: sentence_rows(i)
    sentence_starts: np.ndarray  # first sentence row of each chunk, plus the total

    def __len__(self) -> int:
        return len(self.chunks)

    def sentence_rows(self, position: int) -> range:
        return range(int(self.sentence_starts[position]), int(self.sentence_starts[position + 1]))

    # --- the SearchIndex interface -----------------------------------------------------

    @property
    def location(self) -> str:
        return str(self.path)

    @cached_property
    def days(self) -> np.ndarray:
        """Each chunk's document date as a day number (0 = undated)."""
        return np.array(
            [day_number(self.docs[c.doc_id].date) if c.doc_id in self.docs else 0
             for c in self.chunks],
            dtype=np.int32,
        )  # fmt: skip

    def lexical_columns(self) -> tuple[list[str], np.ndarray]:
        texts = [
            embedding_text(self.docs[c.doc_id].title, c.text) if c.doc_id in self.docs else c.text
            for c in self.chunks
        ]
        return texts, self.days

    def dense_search(
        self,
        qvec: np.ndarray,
        k: int,
        *,
        since: int | None = None,
        until: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        mask = period_mask(self.days, since, until)
        if allowed is not None:
            mask = allowed if mask is None else mask & allowed
        # Searching only the allowed rows, so that a period never starves the list.
        return search_vectors(self, qvec[None, :], k, mask)[0]

    def chunk_vectors(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.vectors[np.asarray(positions, dtype=np.int64)]

    def fetch_chunks(self, positions: Sequence[int]) -> list[tuple[Chunk, int]]:
        return [(self.chunks[p], int(self.sentence_starts[p])) for p in positions]

    def sentence_vectors_at(self, rows: Sequence[int]) -> np.ndarray:
        return self.sentence_vectors[list(rows)]

    def all_chunks(self) -> Sequence[Chunk]:
        return self.chunks

    def chunk_doc_ids(self) -> Sequence[str]:
        return [c.doc_id for c in self.chunks]


def make_faiss_index(vectors: np.ndarray, index_type: str) -> faiss.Index:
    """Inner product over unit vectors is cosine similarity: exact (``flat``) or
    approximate (see :mod:`retrieval.store.ann`)."""
    if index_type != "flat":
        return make_ann_index(vectors, index_type)
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    return index


def choose_index_type(n_chunks: int, ann_min_chunks: int) -> str:
    """``flat`` (exact) below ``ann_min_chunks`` chunks, else the approximate type."""
    return ANN_TYPE if n_chunks >= ann_min_chunks else "flat"


# --- writing -------------------------------------------------------------------------


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock; a second writer is refused at once with a message."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a+")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _write_error(index_dir, exc) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"another process is writing the index at {index_dir}; try again when it ends"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_error(index_dir: Path, exc: OSError) -> IndexWriteError:
    if isinstance(exc, FileExistsError | NotADirectoryError) and not index_dir.is_dir():
        why = "it is not a folder"
    else:
        why = exc.strerror or str(exc)
        if exc.filename and Path(exc.filename) != index_dir:  # which file, if not the folder
            why += f" ({exc.filename})"
    return IndexWriteError(f"cannot write the index at {index_dir}: {why}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def publish(
    index_dir: Path,
    manifest: Manifest,
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    chunks: Sequence[Chunk],
    docs: Sequence[DocInfo],
) -> Path:
    """Write a new version beside the others and make it current in one rename.

    The caller holds :func:`write_lock`. A crash at any point leaves the previous version
    current and loadable; leftovers are removed by the next publish.
    """
    versions = index_dir / "versions"
    name = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    tmp = versions / (name + ".tmp")
    pointer_tmp = index_dir / f"CURRENT.{uuid.uuid4().hex[:8]}.tmp"
    previous = _readable_version(index_dir)
    try:
        versions.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        _write_file(tmp / "vectors.npy", _npy_bytes(vectors))
        _write_file(tmp / "sentences.npy", _npy_bytes(sentence_vectors))
        index = make_faiss_index(vectors, manifest.index_type)
        _write_file(tmp / "index.faiss", faiss.serialize_index(index).tobytes())
        _write_file(tmp / "chunks.jsonl", _jsonl(dataclasses.asdict(c) for c in chunks))
        _write_file(tmp / "documents.jsonl", _jsonl(d.to_json() for d in docs))
        sizes = {f: (tmp / f).stat().st_size for f in _FILES}
        final = dataclasses.replace(
            manifest, version=name, files=sizes, chunks=len(chunks), documents=len(docs)
        )
        data = json.dumps(dataclasses.asdict(final), indent=2).encode()
        _write_file(tmp / "manifest.json", data)
        _fsync_dir(tmp)
        os.rename(tmp, versions / name)
        _fsync_dir(versions)
        _write_file(pointer_tmp, (name + "\n").encode())
        os.replace(pointer_tmp, index_dir / "CURRENT")
    except OSError as exc:
        # A full or read-only disk: nothing half-written stays behind, CURRENT is unchanged.
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(versions / name, ignore_errors=True)
        pointer_tmp.unlink(missing_ok=True)
        if (index_dir / "CURRENT").is_dir():
            raise IndexWriteError(
                f"cannot publish the index at {index_dir}: CURRENT is a folder, not the "
                "version pointer; move it away"
            ) from None
        raise _write_error(index_dir, exc) from None
    with contextlib.suppress(OSError):  # published already; durability is best effort now
        _fsync_dir(index_dir)
    log.info("published index version %s (%d chunks)", name, len(chunks))
    _collect_garbage(index_dir, keep={name, previous})
    return versions / name


def _readable_version(index_dir: Path) -> str | None:
    """The published version, or None when the pointer is missing or unreadable (a build
    replaces a broken pointer)."""
    try:
        return current_version(index_dir)
    except IndexCorruptError:
        return None


def _npy_bytes(vectors: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(vectors, dtype=np.float32))
    return out.getvalue()


def _jsonl(rows: Iterator[dict[str, Any]] | Any) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _collect_garbage(index_dir: Path, keep: set[str | None]) -> None:
    """Remove leftovers of crashed writers and every version but ``keep``.

    The new and the previous version are kept: a reader that read the old pointer just
    before the switch can still load it. A version a crashed writer finished but never
    made current is never kept, whatever its age.
    """
    versions = index_dir / "versions"
    try:
        for stray in index_dir.glob("CURRENT.*.tmp"):
            stray.unlink(missing_ok=True)
        for path in versions.iterdir():
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
    except OSError as exc:  # the new version is published; old ones go next time
        log.warning("could not remove old index versions in %s: %s", versions, exc)


# --- reading -------------------------------------------------------------------------


def current_version(index_dir: Path) -> str | None:
    """The name of the published version, or None if nothing was ever published."""
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_bytes()[:4096].decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise IndexCorruptError(f"index path {index_dir} is a file, not a folder") from None
    except IsADirectoryError:
        raise IndexCorruptError(
            f"index at {index_dir}: CURRENT is a folder, not the version pointer; move it "
            f"away and {_rebuild_hint(index_dir)}"
        ) from None
    except UnicodeDecodeError:
        name = "\0"
    except OSError as exc:
        raise IndexCorruptError(
            f"cannot read {pointer}: {exc.strerror or exc}: {_rebuild_hint(index_dir)}"
        ) from None
    if not _VERSION_NAME.fullmatch(name):
        if not name:
            return None
        raise IndexCorruptError(
            f"index at {index_dir}: CURRENT does not name a version: {_rebuild_hint(index_dir)}"
        )
    return name


def _rebuild_hint(index_dir: Path) -> str:
    return f"run `python -m retrieval index --full --index {index_dir}`"


def read_manifest(version_dir: Path, index_dir: Path) -> Manifest:
    try:
        raw = json.loads((version_dir / "manifest.json").read_text())
        manifest = Manifest(**raw)
    except FileNotFoundError:
        raise IndexCorruptError(
            f"index at {index_dir} has no manifest: {_rebuild_hint(index_dir)}"
        ) from None
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(
            f"index manifest at {version_dir} is unreadable ({exc}): {_rebuild_hint(index_dir)}"
        ) from None
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {index_dir} has format {manifest.format_version}, this newsqa reads "
            f"{FORMAT_VERSION}: {_rebuild_hint(index_dir)}"
        )
    return manifest


def locate(index_dir: Path) -> Path:
    """The folder of the current version (or ``index_dir`` itself if it is a version)."""
    if (index_dir / "manifest.json").is_file():
        return index_dir
    name = current_version(index_dir)
    if name is None:
        raise IndexMissingError(
            f"no index at {index_dir}: run `python -m retrieval index --index {index_dir}`"
        )
    path = index_dir / "versions" / name
    if not path.is_dir():
        raise IndexCorruptError(
            f"index at {index_dir} points to missing version {name}: {_rebuild_hint(index_dir)}"
        )
    return path


def load_index(index_dir: Path, *, model: str | None = None, dimension: int | None = None) -> Index:
    """Load the current version, checking it against the model it will be queried with."""
    path = locate(index_dir)
    manifest = read_manifest(path, index_dir)
    if model is not None and manifest.model != model:
        raise IndexMismatchError(
            f"index at {index_dir} was built with model {manifest.model!r}, settings ask for "
            f"{model!r}: {_rebuild_hint(index_dir)}"
        )
    if dimension is not None and manifest.dimension != dimension:
        raise IndexMismatchError(
            f"index at {index_dir} holds {manifest.dimension}-dim vectors, the model makes "
            f"{dimension}: {_rebuild_hint(index_dir)}"
        )
    for name in _FILES:
        f = path / name
        size = f.stat().st_size if f.is_file() else -1
        if size != manifest.files.get(name):
            what = "missing" if size < 0 else "truncated or changed"
            raise IndexCorruptError(
                f"index file {name} at {path} is {what}: {_rebuild_hint(index_dir)}"
            )
    try:
        # Mapped, not read: pages load on first use and are shared by every process
        # serving this version, which matters from a million chunks on.
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        sentence_vectors = np.load(path / "sentences.npy", mmap_mode="r")
        faiss_index = faiss.deserialize_index(
            np.frombuffer((path / "index.faiss").read_bytes(), dtype=np.uint8)
        )
        chunks = tuple(_chunk(json.loads(line)) for line in _lines(path / "chunks.jsonl"))
        docs = [DocInfo.from_json(json.loads(line)) for line in _lines(path / "documents.jsonl")]
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"index at {path} is unreadable ({exc}): {_rebuild_hint(index_dir)}"
        ) from None
    starts = np.cumsum([0, *(len(c.sentences) for c in chunks)])
    if not (
        len(chunks) == len(vectors) == faiss_index.ntotal == manifest.chunks
        and starts[-1] == len(sentence_vectors)
    ):
        raise IndexCorruptError(
            f"index at {path} has inconsistent counts: {_rebuild_hint(index_dir)}"
        )
    by_id = {d.doc_id: d for d in docs}
    return Index(path, manifest, vectors, faiss_index, chunks, by_id, sentence_vectors, starts)


def _chunk(row: dict[str, Any]) -> Chunk:
    row["sentences"] = tuple((int(a), int(b)) for a, b in row.get("sentences", ()))
    return Chunk(**row)


def _lines(path: Path) -> list[str]:
    # Split on "\n" only: splitlines() would also cut at U+2028, U+2029 and U+0085,
    # which json.dumps(ensure_ascii=False) leaves inside strings.
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def search_vectors(
    index: Index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> list[list[tuple[int, float]]]:
    """Top-k (position, score) per query row, among the ``allowed`` rows (a boolean mask)
    if given; k is clamped and FAISS's -1 fillers dropped."""
    k = min(k, len(index))
    if k <= 0:
        return [[] for _ in range(len(queries))]
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if index.manifest.index_type == "flat":
        scores, ids = search_flat(index.faiss_index, queries, k, allowed)
    else:
        scores, ids = search_ann(index.faiss_index, index.vectors, queries, k, allowed)
    return [
        [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
        for row_ids, row_scores in zip(ids, scores, strict=True)
    ]


class FaissStore:
    """:class:`~retrieval.store.base.Store` kept as a folder of versions on local disk."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.location = str(index_dir)

    def current_version(self) -> str | None:
        return current_version(self.index_dir)

    def locate(self) -> None:
        locate(self.index_dir)

    def load(self, *, model: str | None = None, dimension: int | None = None) -> Index:
        return load_index(self.index_dir, model=model, dimension=dimension)

    def write_lock(self) -> contextlib.AbstractContextManager[None]:
        return write_lock(self.index_dir)

    def publish(
        self,
        manifest: Manifest,
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        chunks: Sequence[Chunk],
        docs: Sequence[DocInfo],
    ) -> str:
        return publish(self.index_dir, manifest, vectors, sentence_vectors, chunks, docs).name
