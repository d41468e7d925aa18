"""Building (and rebuilding incrementally) the index from a corpus folder."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

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
    would replace the last good version with an empty one.
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

    store = open_store(settings)
    with store.write_lock():
        backend = encoder.backend if encoder is not None else backend_for(settings)
        prev, reason = _previous(settings, store, full, backend)
        if prev is None and reason != "no previous index":
            log.warning("full rebuild: %s", reason)
        old_chunks: dict[str, list[int]] = {}
        prev_chunks = prev.all_chunks() if prev is not None else ()
        for pos, chunk in enumerate(prev_chunks):
            old_chunks.setdefault(chunk.doc_id, []).append(pos)
        # The previous version's sentence rows of each chunk start here.
        prev_starts = np.cumsum([0, *(len(c.sentences) for c in prev_chunks)])

        added = changed = unchanged = 0
        chunks: list[Chunk] = []
        sources: list[int] = []  # position in prev's vectors, or -1 for "embed me"
        for doc in docs:
            old = prev.docs.get(doc.doc_id) if prev is not None else None
            if prev is not None and old is not None and old.content_hash == doc.content_hash:
                unchanged += 1
                positions = old_chunks.get(doc.doc_id, [])
                chunks.extend(prev_chunks[p] for p in positions)
                sources.extend(positions)
                continue
            if old is None:
                added += 1
            else:
                changed += 1
            new = chunk_document(doc, enc, settings.chunk_tokens, settings.chunk_overlap)
            chunks.extend(new)
            sources.extend([-1] * len(new))
        current_ids = {d.doc_id for d in docs}
        removed = sum(1 for d in prev.docs if d not in current_ids) if prev is not None else 0

        titles = {d.doc_id: d.title for d in docs}
        todo = [i for i, s in enumerate(sources) if s < 0]
        if (
            prev is not None and not todo and removed == 0
            and prev.manifest.skipped_files == len(corpus.skipped)
            and list(prev.docs.values()) == [DocInfo.of(d) for d in docs]
        ):  # fmt: skip
            # Publishing an identical version would only make every reader reload it.
            log.info("nothing changed since version %s", prev.manifest.version)
            return BuildReport(
                prev.manifest.version, corpus.files, len(docs), len(chunks), corpus.skipped,
                0, 0, 0, unchanged, 0, time.perf_counter() - started, 0.0, False, "nothing changed",
            )  # fmt: skip
        embed_started = time.perf_counter()
        fresh: np.ndarray | None = None
        fresh_sentences: np.ndarray | None = None
        sent_starts = np.cumsum([0, *(len(c.sentences) for c in chunks)])
        if todo:
            if encoder is None:
                encoder = encoder_loader() if encoder_loader else load_encoder(settings)
            texts, spans = [], []
            for i in todo:
                prefix = title_prefix(titles[chunks[i].doc_id], chunks[i].text)
                texts.append(prefix + chunks[i].text)
                spans.append([(a + len(prefix), b + len(prefix)) for a, b in chunks[i].sentences])
            fresh, fresh_sentences = encoder.encode_passages(
                texts, spans, batch_size=settings.batch_size, progress=progress
            )
            dim, digest = encoder.dimension, encoder.digest
        else:
            dim = prev.manifest.dimension if prev is not None else 0
            digest = prev.manifest.encoder_digest if prev is not None else ""
        embed_seconds = time.perf_counter() - embed_started

        vectors = np.zeros((len(chunks), dim), dtype=np.float32)
        sentence_vectors = np.zeros((int(sent_starts[-1]), dim), dtype=np.float32)
        if prev is not None:
            reused = [i for i, s in enumerate(sources) if s >= 0]
            if reused:
                vectors[reused] = prev.chunk_vectors([sources[i] for i in reused])
                new_rows = np.concatenate(
                    [np.arange(sent_starts[i], sent_starts[i + 1]) for i in reused]
                ).astype(np.int64)
                old_rows = np.concatenate(
                    [np.arange(prev_starts[sources[i]], prev_starts[sources[i] + 1])
                     for i in reused]
                ).astype(np.int64)  # fmt: skip
                if len(old_rows):
                    sentence_vectors[new_rows] = prev.sentence_vectors_at(old_rows.tolist())
        if fresh is not None and fresh_sentences is not None:
            vectors[todo] = fresh
            rows = np.concatenate(
                [np.arange(sent_starts[i], sent_starts[i + 1]) for i in todo]
            ).astype(np.int64)
            sentence_vectors[rows] = fresh_sentences

        manifest = Manifest(
            model=settings.model,
            dimension=dim,
            tokenizer=ENCODING_NAME,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            corpus_fingerprint=corpus_fingerprint(docs),
            documents=len(docs),
            chunks=len(chunks),
            skipped_files=len(corpus.skipped),
            index_type=choose_index_type(len(chunks), settings.ann_min_chunks),
            encoder=encoder.backend if encoder is not None else backend,
            encoder_digest=digest,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        version = store.publish(
            manifest, vectors, sentence_vectors, chunks, [DocInfo.of(d) for d in docs]
        )

    return BuildReport(
        version=version,
        files=corpus.files,
        documents=len(docs),
        chunks=len(chunks),
        skipped=corpus.skipped,
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        chunks_embedded=len(todo),
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        full=prev is None,
        reason=reason,
    )
