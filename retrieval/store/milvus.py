"""The index kept in Milvus: a server, a cluster, or Milvus Lite (a local file).

Each version is three collections named after it, and an alias names the published one::

    <name>                              alias -> <name>_<version>_chunks
    <name>_<version>_chunks             pos (primary key), chunk fields, day, first_row, vector
    <name>_<version>_sentences          row (primary key), vector
    <name>_<version>_docs               row (primary key), ord, part: the manifest (ord -1)
                                        and each document as JSON, in corpus order

A build fills a new version's collections, then switches the alias in one call, so every
replica sees the old or the new version, never a mix; a killed build leaves collections
nobody points at, dropped by the next publish. Readers notice a new version by reading
the alias (the bot's watcher does that every few seconds).

Dense search, its date filter, and the fetching of chunks and sentence vectors run in
Milvus. BM25 stays ours, in each reader's memory: see the README ("Scaling out").
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.dates import day_number
from retrieval.errors import (
    ConfigError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    StoreUnreachableError,
)
from retrieval.ingest.chunking import Chunk
from retrieval.store.base import FORMAT_VERSION, DocInfo, Manifest
from retrieval.store.milvus_index import BATCH, CHUNK_FIELDS, MilvusIndex, query_all

log = logging.getLogger(__name__)

LITE_PREFIX = "milvus-lite:"
DEFAULT_NAME = "newsqa"

_PART_CHARS = 16_000  # a document's JSON is stored in parts of at most this many characters
_VERSION = re.compile(r"^\d{8}T\d{6}_[0-9a-f]{8}$")


def _milvus() -> Any:
    """pymilvus, imported only when a Milvus store is used (it is an optional extra)."""
    try:
        import pymilvus
    except ImportError:
        raise ConfigError(
            "NEWSQA_STORE names a Milvus store but pymilvus is not installed: "
            "pip install 'newsqa[milvus]'"
        ) from None
    return pymilvus


def parse_uri(value: str) -> tuple[str, str]:
    """``NEWSQA_STORE`` as (client URI, collection name): ``milvus-lite:PATH`` or
    ``http(s)://host:port``, either optionally followed by ``#name`` (default newsqa)."""
    uri, _, name = value.partition("#")
    name = name or DEFAULT_NAME
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", name):
        raise ConfigError(f"NEWSQA_STORE: collection name {name!r} must be letters, digits, _")
    if uri.startswith(LITE_PREFIX):
        path = uri[len(LITE_PREFIX) :]
        if not path:
            raise ConfigError("NEWSQA_STORE=milvus-lite:PATH needs a file path")
        # Milvus Lite recognises a local file by its .db suffix.
        path = str(Path(path).expanduser().resolve())
        return (path if path.endswith(".db") else path + ".db"), name
    if re.match(r"^(https?|tcp|grpc)://[^/\s]+", uri):
        return uri, name
    raise ConfigError(
        f"NEWSQA_STORE must be empty, milvus-lite:PATH or http://host:19530, got {value!r}"
    )


class MilvusStore:
    """:class:`~retrieval.store.base.Store` kept in Milvus, published by an alias switch."""

    def __init__(self, value: str, token: str = "", timeout: float = 10.0) -> None:
        self.uri, self.name = parse_uri(value)
        self.location = f"{self.uri}#{self.name}"
        self._token = token
        self._timeout = timeout
        self._client: Any = None

    # --- connection and errors ---------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            pymilvus = _milvus()
            kwargs: dict[str, Any] = {"timeout": self._timeout}
            if self._token:
                kwargs["token"] = self._token
            try:
                self._client = pymilvus.MilvusClient(self.uri, **kwargs)
            except Exception as exc:
                raise self._unreachable(exc) from None
        return self._client

    def _unreachable(self, exc: Exception) -> StoreUnreachableError:
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if self.uri.endswith(".db"):
            return StoreUnreachableError(
                f"cannot open Milvus Lite file {self.uri} ({reason}); another process may "
                "have it open: share one index between processes with `milvus-lite server`"
            )
        return StoreUnreachableError(f"cannot reach Milvus at {self.uri}: {reason}")

    def _calls(self, what: str) -> contextlib.AbstractContextManager[None]:
        return _translated(self, what)

    def _build_hint(self) -> str:
        return _BUILD_HINT

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def _names(self, version: str) -> tuple[str, str, str]:
        base = f"{self.name}_{version}"
        return base + "_chunks", base + "_sentences", base + "_docs"

    # --- reading ------------------------------------------------------------------------

    def current_version(self) -> str | None:
        with self._calls("reading the published version"):
            if self.name not in self.client.list_aliases().get("aliases", []):
                return None
            target = self.client.describe_alias(self.name)["collection_name"]
        prefix, suffix = self.name + "_", "_chunks"
        version = target[len(prefix) : -len(suffix)]
        if not (target.startswith(prefix) and target.endswith(suffix) and _VERSION.match(version)):
            raise IndexMismatchError(
                f"alias {self.name} in Milvus at {self.uri} points to {target}, which is not "
                f"a newsqa index: choose another name with NEWSQA_STORE=...#name"
            )
        return version

    def locate(self) -> None:
        if self.current_version() is None:
            raise IndexMissingError(f"no index in Milvus at {self.location}: {self._build_hint()}")

    def load(self, *, model: str | None = None, dimension: int | None = None) -> MilvusIndex:
        version = self.current_version()
        if version is None:
            raise IndexMissingError(f"no index in Milvus at {self.location}: {self._build_hint()}")
        chunks_c, sentences_c, docs_c = self._names(version)
        with self._calls(f"loading index version {version}"):
            for name in (chunks_c, sentences_c, docs_c):
                self.client.load_collection(name)
            rows = sorted(
                query_all(self.client, docs_c, ["row", "ord", "part"]), key=lambda r: r["row"]
            )
        parts: dict[int, list[str]] = {}
        for r in rows:
            parts.setdefault(int(r["ord"]), []).append(r["part"])
        try:
            manifest = Manifest(**json.loads("".join(parts.pop(-1))))
            docs = [DocInfo.from_json(json.loads("".join(p))) for _, p in sorted(parts.items())]
        except (KeyError, ValueError, TypeError) as exc:
            raise IndexCorruptError(
                f"index version {version} in Milvus at {self.location} has an unreadable "
                f"manifest or documents ({exc}): {self._build_hint()} --full"
            ) from None
        hint = f"{self._build_hint()} --full"
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in Milvus at {self.location} has format {manifest.format_version}, "
                f"this newsqa reads {FORMAT_VERSION}: {hint}"
            )
        if model is not None and manifest.model != model:
            raise IndexMismatchError(
                f"index in Milvus at {self.location} was built with model {manifest.model!r}, "
                f"settings ask for {model!r}: {hint}"
            )
        if dimension is not None and manifest.dimension != dimension:
            raise IndexMismatchError(
                f"index in Milvus at {self.location} holds {manifest.dimension}-dim vectors, "
                f"the model makes {dimension}: {hint}"
            )
        with self._calls(f"checking index version {version}"):
            self._check_schema(chunks_c, manifest.dimension, hint)
            count = _count(self.client, chunks_c)
        if count != manifest.chunks or len(docs) != manifest.documents:
            raise IndexCorruptError(
                f"index version {version} in Milvus at {self.location} has {count} chunks and "
                f"{len(docs)} documents, its manifest says {manifest.chunks} and "
                f"{manifest.documents}: {hint}"
            )
        return MilvusIndex(
            self.client, self._calls, self.location, manifest, {d.doc_id: d for d in docs},
            chunks_c, sentences_c, count,
        )  # fmt: skip

    def _check_schema(self, collection: str, dimension: int, hint: str) -> None:
        fields = {f["name"]: f for f in self.client.describe_collection(collection)["fields"]}
        missing = [f for f in ("pos", "day", "vector", *CHUNK_FIELDS) if f not in fields]
        dim = fields.get("vector", {}).get("params", {}).get("dim")
        if missing or dim is None or int(dim) != dimension:
            raise IndexMismatchError(
                f"collection {collection} in Milvus at {self.uri} does not have the schema "
                f"this newsqa writes (missing {missing or 'none'}, vector dim {dim} for "
                f"{dimension}): {hint}"
            )

    # --- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer per store on this machine (a lock file keyed by the store's URI).

        Milvus has no lock of its own: writers on different machines must be kept apart by
        the deployment (one indexing job), as the README says.
        """
        key = hashlib.sha256(self.location.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"newsqa-milvus-{key}.lock"
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexLockedError(
                    f"another process is writing the index in Milvus at {self.location}; "
                    "try again when it ends"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def publish(
        self,
        manifest: Manifest,
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        chunks: Sequence[Chunk],
        docs: Sequence[DocInfo],
    ) -> str:
        """Fill a new version's collections, then point the alias at them."""
        version = time.strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:8]
        chunks_c, sentences_c, docs_c = self._names(version)
        final = dataclasses.replace(
            manifest, version=version, chunks=len(chunks), documents=len(docs), files={}
        )
        dim = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[1] else final.dimension
        with self._calls(f"writing index version {version}"):
            previous = self.current_version()
            self._create(chunks_c, sentences_c, docs_c, dim, final.index_type)
            self._insert_chunks(chunks_c, chunks, vectors, {d.doc_id: d for d in docs})
            self._insert_rows(
                sentences_c,
                ({"row": i, "vector": v} for i, v in enumerate(np.asarray(sentence_vectors))),
            )
            self._insert_rows(docs_c, _doc_rows(final, docs))
            for name in (chunks_c, sentences_c, docs_c):
                self.client.flush(name)
            if previous is None:
                self.client.create_alias(chunks_c, self.name)
            else:
                self.client.alter_alias(chunks_c, self.name)
        log.info("published index version %s (%d chunks) to %s", version, len(chunks), self.uri)
        self._collect_garbage(keep={version, previous})
        return version

    def _create(self, chunks_c: str, sentences_c: str, docs_c: str, dim: int, kind: str) -> None:
        pymilvus = _milvus()
        dt = pymilvus.DataType
        c = self.client

        def create(name: str, schema: Any, vector_index: str, params: dict[str, Any]) -> None:
            index = c.prepare_index_params()
            index.add_index("vector", index_type=vector_index, metric_type="IP", params=params)
            c.create_collection(name, schema=schema, index_params=index)

        s = c.create_schema(auto_id=False)
        s.add_field("pos", dt.INT64, is_primary=True)
        s.add_field("chunk_id", dt.VARCHAR, max_length=1024)
        s.add_field("doc_id", dt.VARCHAR, max_length=1024)
        s.add_field("text", dt.VARCHAR, max_length=65535)
        s.add_field("title", dt.VARCHAR, max_length=65535)
        for name in ("start", "end", "n_tokens", "first_row"):
            s.add_field(name, dt.INT64)
        s.add_field("day", dt.INT32)  # the document's date as a day number; 0 = undated
        s.add_field("spans", dt.JSON)
        s.add_field("vector", dt.FLOAT_VECTOR, dim=dim)
        # Inner product over unit vectors is cosine similarity, as in the FAISS store. Where
        # the FAISS store goes approximate, Milvus uses its HNSW (the better served there).
        if kind != "flat":
            create(chunks_c, s, "HNSW", {"M": 32, "efConstruction": 80})
        else:
            create(chunks_c, s, "FLAT", {})
        s = c.create_schema(auto_id=False)
        s.add_field("row", dt.INT64, is_primary=True)
        s.add_field("vector", dt.FLOAT_VECTOR, dim=dim)
        create(sentences_c, s, "FLAT", {})  # only ever read by key
        s = c.create_schema(auto_id=False)
        s.add_field("row", dt.INT64, is_primary=True)
        s.add_field("ord", dt.INT64)
        s.add_field("part", dt.VARCHAR, max_length=65535)
        s.add_field("vector", dt.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in a collection
        create(docs_c, s, "FLAT", {})

    def _insert_chunks(
        self, name: str, chunks: Sequence[Chunk], vectors: np.ndarray, docs: Mapping[str, DocInfo]
    ) -> None:
        def rows() -> Iterator[dict[str, Any]]:
            first_row = 0
            for pos, c in enumerate(chunks):
                doc = docs.get(c.doc_id)
                yield {
                    "pos": pos, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text,
                    "title": doc.title if doc else "", "start": c.start, "end": c.end,
                    "n_tokens": c.n_tokens, "first_row": first_row,
                    "day": day_number(doc.date) if doc else 0,
                    "spans": [list(s) for s in c.sentences], "vector": vectors[pos],
                }  # fmt: skip
                first_row += len(c.sentences)

        self._insert_rows(name, rows())

    def _insert_rows(self, name: str, rows: Iterator[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            row["vector"] = np.asarray(row["vector"], dtype=np.float32).tolist()
            batch.append(row)
            if len(batch) == BATCH:
                self.client.insert(name, batch)
                batch = []
        if batch:
            self.client.insert(name, batch)

    def _collect_garbage(self, keep: set[str | None]) -> None:
        """Drop every version's collections but ``keep`` (the new and the previous one: a
        reader that read the alias just before the switch can still load the old one)."""
        pattern = re.compile(rf"^{re.escape(self.name)}_(.+)_(chunks|sentences|docs)$")
        try:
            names = self.client.list_collections()
            for name in names:
                m = pattern.match(name)
                if m and _VERSION.match(m.group(1)) and m.group(1) not in keep:
                    self.client.drop_collection(name)
        except Exception as exc:  # leftovers cost space, never correctness
            log.warning("could not drop old index versions in %s: %s", self.location, exc)


_BUILD_HINT = "run `python -m retrieval index` with the same NEWSQA_STORE"


@contextlib.contextmanager
def _translated(store: MilvusStore, what: str) -> Iterator[None]:
    """Translate pymilvus failures into our one-line errors."""
    pymilvus = _milvus()
    try:
        yield
    except pymilvus.exceptions.MilvusException as exc:
        message = getattr(exc, "message", "") or str(exc)
        low = message.lower()
        if getattr(exc, "code", None) == 2 or any(
            w in low for w in ("connect", "unavailable", "open local milvus")
        ):
            raise store._unreachable(exc) from None
        if "not exist" in low or "not found" in low:
            raise IndexMissingError(
                f"{what}: {message} in Milvus at {store.location}: {_BUILD_HINT}"
            ) from None
        raise IndexCorruptError(f"{what} in Milvus at {store.location}: {message}") from None


def _doc_rows(manifest: Manifest, docs: Sequence[DocInfo]) -> Iterator[dict[str, Any]]:
    """The manifest (ord -1) and each document as JSON, split in parts that fit a VARCHAR."""
    row = 0
    items = [(-1, dataclasses.asdict(manifest))] + [(i, d.to_json()) for i, d in enumerate(docs)]
    for ord_, obj in items:
        text = json.dumps(obj, ensure_ascii=False)
        for start in range(0, max(len(text), 1), _PART_CHARS):
            yield {"row": row, "ord": ord_, "part": text[start : start + _PART_CHARS],
                   "vector": (0.0, 0.0)}  # fmt: skip
            row += 1


def _count(client: Any, name: str) -> int:
    return int(client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])
