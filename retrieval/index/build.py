"""Building (and rebuilding incrementally) the index from a corpus folder."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import tiktoken

from retrieval.encoder.base import Encoder
from retrieval.encoder.factory import backend_for, load_encoder
from retrieval.errors import (
    ConfigError,
    EmptyCorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from retrieval.ingest.chunking import Chunk, chunk_document, title_prefix
from retrieval.ingest.documents import Corpus, Document, SkippedFile, load_corpus
from retrieval.ingest.tokenizer import ENCODING_NAME, load_encoding
from retrieval.settings import Settings
from retrieval.store.base import DocInfo, Manifest, SearchIndex, Store
from retrieval.store.factory import open_store
from retrieval.store.faiss import choose_index_type

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build did. Document counts compare the corpus with the previous version."""

    version: str
    files: int
    documents: int
    chunks: int
    skipped: tuple[SkippedFile, ...]
    added: int
    changed: int
    removed: int
    unchanged: int
    chunks_embedded: int
    seconds: float
    embed_seconds: float
    full: bool
    reason: str  # why the build was full or incremental


def corpus_fingerprint(docs: list[Document]) -> str:
    h = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: d.doc_id):
        h.update(f"{doc.doc_id}\0{doc.content_hash}\n".encode())
    return h.hexdigest()


def _previous(
    settings: Settings, store: Store, full: bool, backend: str
) -> tuple[SearchIndex | None, str]:
    """The version to reuse vectors from, or None with the reason for a full build.

    ``backend`` is the encoder new vectors will come from: vectors of two encoders are
    never mixed in one version.
    """
    if full:
        return None, "full rebuild requested"
    try:
        prev = store.load()
    except IndexMissingError:
        return None, "no previous index"
    except (IndexCorruptError, IndexMismatchError) as exc:
        return None, f"previous index unusable ({exc})"
    m = prev.manifest
    wanted = (settings.model, backend, ENCODING_NAME, settings.chunk_tokens, settings.chunk_overlap)
    had = (m.model, m.encoder, m.tokenizer, m.chunk_tokens, m.chunk_overlap)
    if wanted != had:
        names = ("model", "encoder", "tokenizer", "chunk_tokens", "chunk_overlap")
        changes = [
            f"{name} {old!r} -> {new!r}"
            for name, old, new in zip(names, had, wanted, strict=True)
            if old != new
        ]
        return None, "settings changed since the last build: " + ", ".join(changes)
    return prev, "incremental"


@dataclass
class _Diff:
    """The new version's chunks, each reused from the previous version or to be embedded."""

    chunks: list[Chunk]
    sources: list[int]  # per chunk: its position in the previous version, or -1: embed it
    prev_starts: np.ndarray  # the previous version's first sentence row of each chunk
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def todo(self) -> list[int]:
        """Positions of the chunks to embed."""
        return [i for i, s in enumerate(self.sources) if s < 0]


@dataclass(frozen=True)
class _Embedded:
    """Vectors of the chunks to embed (None when there were none) and of their sentences."""

    chunks: np.ndarray | None
    sentences: np.ndarray | None
    dimension: int
    digest: str
    backend: str
    seconds: float


def diff(
    prev: SearchIndex | None, docs: list[Document], settings: Settings, enc: tiktoken.Encoding
) -> _Diff:
    """Match documents with the previous version by id and content hash: unchanged ones
    keep their chunks (and so their vectors); new and changed ones are chunked afresh."""
    old_chunks: dict[str, list[int]] = {}
    prev_chunks = prev.all_chunks() if prev is not None else ()
    for pos, chunk in enumerate(prev_chunks):
        old_chunks.setdefault(chunk.doc_id, []).append(pos)
    d = _Diff([], [], np.cumsum([0, *(len(c.sentences) for c in prev_chunks)]))
    for doc in docs:
        old = prev.docs.get(doc.doc_id) if prev is not None else None
        if old is not None and old.content_hash == doc.content_hash:
            d.unchanged += 1
            positions = old_chunks.get(doc.doc_id, [])
            d.chunks.extend(prev_chunks[p] for p in positions)
            d.sources.extend(positions)
            continue
        if old is None:
            d.added += 1
        else:
            d.changed += 1
        new = chunk_document(doc, enc, settings.chunk_tokens, settings.chunk_overlap)
        d.chunks.extend(new)
        d.sources.extend([-1] * len(new))
    current_ids = {doc.doc_id for doc in docs}
    d.removed = sum(1 for i in prev.docs if i not in current_ids) if prev is not None else 0
    return d


def _unchanged(prev: SearchIndex | None, d: _Diff, docs: list[Document], corpus: Corpus) -> bool:
    """Would the new version be the previous one again?"""
    return (
        prev is not None and not d.todo and d.removed == 0
        and prev.manifest.skipped_files == len(corpus.skipped)
        and list(prev.docs.values()) == [DocInfo.of(doc) for doc in docs]
    )  # fmt: skip


def embed(
    d: _Diff,
    docs: list[Document],
    prev: SearchIndex | None,
    settings: Settings,
    backend: str,
    encoder: Callable[[], Encoder],
    progress: bool,
) -> _Embedded:
    """Embed the chunks to embed (title-prefixed), with a vector per sentence; ``encoder``
    is called only if there is something to embed."""
    started = time.perf_counter()
    todo = d.todo
    if not todo:
        return _Embedded(
            None, None,
            prev.manifest.dimension if prev is not None else 0,
            prev.manifest.encoder_digest if prev is not None else "",
            backend, time.perf_counter() - started,
        )  # fmt: skip
    model = encoder()
    titles = {doc.doc_id: doc.title for doc in docs}
    texts, spans = [], []
    for i in todo:
        chunk = d.chunks[i]
        prefix = title_prefix(titles[chunk.doc_id], chunk.text)
        texts.append(prefix + chunk.text)
        spans.append([(a + len(prefix), b + len(prefix)) for a, b in chunk.sentences])
    vectors, sentences = model.encode_passages(
        texts, spans, batch_size=settings.batch_size, progress=progress
    )
    return _Embedded(
        vectors, sentences, model.dimension, model.digest, model.backend,
        time.perf_counter() - started,
    )  # fmt: skip


def assemble(d: _Diff, prev: SearchIndex | None, e: _Embedded) -> tuple[np.ndarray, np.ndarray]:
    """The new version's chunk and sentence vectors: reused rows copied from the previous
    version, the rest from the fresh embeddings."""
    prev_starts = d.prev_starts
    sent_starts = np.cumsum([0, *(len(c.sentences) for c in d.chunks)])
    vectors = np.zeros((len(d.chunks), e.dimension), dtype=np.float32)
    sentence_vectors = np.zeros((int(sent_starts[-1]), e.dimension), dtype=np.float32)
    if prev is not None:
        reused = [i for i, s in enumerate(d.sources) if s >= 0]
        if reused:
            vectors[reused] = prev.chunk_vectors([d.sources[i] for i in reused])
            new_rows = np.concatenate(
                [np.arange(sent_starts[i], sent_starts[i + 1]) for i in reused]
            ).astype(np.int64)
            old_rows = np.concatenate(
                [np.arange(prev_starts[d.sources[i]], prev_starts[d.sources[i] + 1])
                 for i in reused]
            ).astype(np.int64)  # fmt: skip
            if len(old_rows):
                sentence_vectors[new_rows] = prev.sentence_vectors_at(old_rows.tolist())
    if e.chunks is not None and e.sentences is not None:
        todo = d.todo
        vectors[todo] = e.chunks
        rows = np.concatenate([np.arange(sent_starts[i], sent_starts[i + 1]) for i in todo]).astype(
            np.int64
        )
        sentence_vectors[rows] = e.sentences
    return vectors, sentence_vectors


def publish(
    store: Store,
    settings: Settings,
    docs: list[Document],
    corpus: Corpus,
    d: _Diff,
    e: _Embedded,
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
) -> str:
    """Write the new version with a manifest recording how it was built; its name."""
    manifest = Manifest(
        model=settings.model,
        dimension=e.dimension,
        tokenizer=ENCODING_NAME,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        corpus_fingerprint=corpus_fingerprint(docs),
        documents=len(docs),
        chunks=len(d.chunks),
        skipped_files=len(corpus.skipped),
        index_type=choose_index_type(len(d.chunks), settings.ann_min_chunks),
        encoder=e.backend,
        encoder_digest=e.digest,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return store.publish(
        manifest, vectors, sentence_vectors, d.chunks, [DocInfo.of(doc) for doc in docs]
    )


def build_index(
    settings: Settings,
    *,
    encoder: Encoder | None = None,
    full: bool = False,
    progress: bool = False,
    corpus: Corpus | None = None,
    encoder_loader: Callable[[], Encoder] | None = None,
    allow_empty: bool = False,
) -> BuildReport:
    """Index ``settings.corpus_dir`` into ``settings.index_dir`` and publish it.

    Unless ``full``, documents whose content is unchanged keep their chunks and vectors;
    only new and changed documents are chunked and embedded (the encoder is loaded only
    if something needs embedding). A corpus without a single document (an unmounted
    disk, a wrong path) raises EmptyCorpusError unless ``allow_empty``: publishing it
    would replace the last good version with an empty one. The steps: :func:`diff`,
    :func:`embed`, :func:`assemble`, :func:`publish`.
    """
    started = time.perf_counter()
    if corpus is None:
        if not settings.corpus_dir.exists():
            raise ConfigError(f"corpus folder {settings.corpus_dir} does not exist")
        corpus = load_corpus(settings.corpus_dir, settings.event_link_base)
    enc = load_encoding(settings.tiktoken_file)
    docs = list(corpus.documents)
    if not docs and not allow_empty:
        raise EmptyCorpusError(
            f"no documents in {settings.corpus_dir} ({corpus.files} files, "
            f"{len(corpus.skipped)} skipped): refusing to publish an empty index; "
            "pass --allow-empty to publish it anyway"
        )

    def load_model() -> Encoder:
        if encoder is not None:
            return encoder
        return encoder_loader() if encoder_loader else load_encoder(settings)

    store = open_store(settings)
    with store.write_lock():
        backend = encoder.backend if encoder is not None else backend_for(settings)
        prev, reason = _previous(settings, store, full, backend)
        if prev is None and reason != "no previous index":
            log.warning("full rebuild: %s", reason)
        d = diff(prev, docs, settings, enc)
        if _unchanged(prev, d, docs, corpus):
            # Publishing an identical version would only make every reader reload it.
            assert prev is not None
            log.info("nothing changed since version %s", prev.manifest.version)
            version, reason = prev.manifest.version, "nothing changed"
            e = _Embedded(None, None, 0, "", backend, 0.0)
        else:
            e = embed(d, docs, prev, settings, backend, load_model, progress)
            vectors, sentence_vectors = assemble(d, prev, e)
            version = publish(store, settings, docs, corpus, d, e, vectors, sentence_vectors)

    return BuildReport(
        version=version,
        files=corpus.files,
        documents=len(docs),
        chunks=len(d.chunks),
        skipped=corpus.skipped,
        added=d.added,
        changed=d.changed,
        removed=d.removed,
        unchanged=d.unchanged,
        chunks_embedded=len(d.todo),
        seconds=time.perf_counter() - started,
        embed_seconds=e.seconds,
        full=prev is None,
        reason=reason,
    )
