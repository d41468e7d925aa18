"""The question-answering engine shared by the CLI and the bot."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from retrieval.answer.engine import Answer, answer, check_question
from retrieval.answer.ranker import RANKER_PATH, Ranker
from retrieval.answer.reader import load_reader
from retrieval.encoder.base import Encoder
from retrieval.encoder.factory import load_encoder, serves
from retrieval.errors import IndexMismatchError
from retrieval.search.retriever import Hit, Retriever
from retrieval.settings import Settings
from retrieval.store.base import SearchIndex, Store
from retrieval.store.factory import open_store

log = logging.getLogger(__name__)


class QA:
    """A loaded model and index that answer questions.

    ``answer`` and ``search`` are synchronous and safe to call from several threads;
    ``reload`` swaps in a newly published index version: calls already running finish
    on the version they started with.
    """

    def __init__(
        self,
        settings: Settings,
        encoder: Encoder,
        retriever: Retriever,
        ranker: Ranker | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.store = store or open_store(settings)
        self._retriever = retriever
        self.reader = load_reader(settings)
        # With the reader, the ranker's fit for reading (its weight and neighbour margin).
        self.ranker = ranker or Ranker.load(RANKER_PATH)
        if self.reader is not None:
            self.ranker = self.ranker.reading()
        self.threshold = (
            settings.abstain_threshold
            if settings.abstain_threshold is not None
            else self.ranker.threshold
        )
        self._reload_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        encoder: Encoder | None = None,
        ranker: Ranker | None = None,
    ) -> QA:
        """Load the current index and the encoder that built it; raises an IndexError_ if
        there is no index. ``encoder`` is used if it is the one the index needs."""
        store = open_store(settings)
        store.locate()  # fail fast, before the model loads, if nothing was built
        index = store.load(model=settings.model)
        encoder = encoder_for(settings, index, encoder)
        return cls(settings, encoder, Retriever(index, encoder), ranker, store)

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    @property
    def version(self) -> str:
        return self._retriever.index.manifest.version

    def search(
        self, question: str, k: int | None = None, *, since: str | None = None,
        until: str | None = None,
    ) -> list[Hit]:  # fmt: skip
        q = check_question(question, self.settings.max_question_chars)
        return self._retriever.search(q, k or self.settings.top_k, since=since, until=until)

    def answer(
        self, question: str, *, asked_at: datetime | None = None, since: str | None = None,
        until: str | None = None, prefer_docs: Sequence[str] = (), prefer_weight: float = 0.0,
        only_docs: Sequence[str] | None = None, retriever: Retriever | None = None,
        explain: bool = False,
    ) -> Answer:  # fmt: skip
        """Answer ``question``. ``prefer_docs`` get ``prefer_weight`` added to their passages'
        scores (a conversation's stories); ``only_docs`` limits the search to those
        documents; ``retriever`` pins the index version (several calls for one turn);
        ``explain`` keeps the answer's trace (``Answer.trace``)."""
        q = check_question(question, self.settings.max_question_chars)
        retriever = retriever or self._retriever  # one version for the whole question
        prefer = retriever.doc_positions(prefer_docs) if prefer_docs and prefer_weight else None
        allowed = None
        if only_docs is not None:
            allowed = np.zeros(len(retriever.index), dtype=bool)
            allowed[retriever.doc_positions(only_docs)] = True
        return answer(
            retriever, self.ranker, q, threshold=self.threshold, asked_at=asked_at,
            since=since, until=until, allowed=allowed, prefer=prefer,
            prefer_weight=prefer_weight, explain=explain, reader=self.reader,
        )  # fmt: skip

    def warmup(self) -> None:
        """Run one question through every stage so the first real one is fast."""
        self._retriever.search("warm up the model and the index", 1)

    def reload(self) -> bool:
        """Swap in the published index version if it differs from the loaded one."""
        with self._reload_lock:
            published = self.store.current_version()
            if published is None or published == self.version:
                return False
            index = self.store.load(model=self.settings.model)
            self.encoder = encoder_for(self.settings, index, self.encoder)
            self._retriever = Retriever(index, self.encoder)
            log.info("reloaded index version %s", index.manifest.version)
            return True


def encoder_for(settings: Settings, index: SearchIndex, encoder: Encoder | None = None) -> Encoder:
    """``encoder`` if it is what encoded ``index``, else that encoder, loaded.

    The manifest, not the settings, decides: vectors from different encoders (even torch
    and int8 ONNX of one model) are close but not the same, and questions must be encoded
    like the passages they are compared with.
    """
    m = index.manifest
    if encoder is None or not serves(encoder, m.encoder, m.encoder_digest):
        if encoder is not None:
            log.info("index version %s was encoded by %s: loading it", m.version, m.encoder)
        encoder = load_encoder(settings, m.encoder, m.encoder_digest)
    if encoder.dimension != m.dimension:
        raise IndexMismatchError(
            f"index at {index.location} holds {m.dimension}-dim vectors, the model makes "
            f"{encoder.dimension}: run `python -m retrieval index --full`"
        )
    return encoder
