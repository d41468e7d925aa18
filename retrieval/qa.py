"""The question-answering engine shared by the CLI and the bot."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sentence_transformers import SentenceTransformer

from .answer import Answer, answer_question, check_question
from .embedding import load_model, model_dimension
from .features import RANKER_PATH, Ranker
from .index import current_version, load_index, locate
from .search import Hit, Retriever
from .settings import Settings

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
        model: SentenceTransformer,
        retriever: Retriever,
        ranker: Ranker | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self._retriever = retriever
        self.ranker = ranker or Ranker.load(RANKER_PATH)
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
        model: SentenceTransformer | None = None,
        ranker: Ranker | None = None,
    ) -> QA:
        """Load the model and the current index; raises an IndexError_ if there is none."""
        locate(settings.index_dir)  # fail fast, before the model loads, if nothing was built
        model = model or load_model(settings.model, settings.device)
        index = load_index(
            settings.index_dir, model=settings.model, dimension=model_dimension(model)
        )
        return cls(settings, model, Retriever(index, model), ranker)

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
        until: str | None = None,
    ) -> Answer:  # fmt: skip
        q = check_question(question, self.settings.max_question_chars)
        retriever = self._retriever  # one version for the whole question
        return answer_question(
            retriever, self.ranker, q, threshold=self.threshold, asked_at=asked_at,
            since=since, until=until,
        )  # fmt: skip

    def warmup(self) -> None:
        """Run one question through every stage so the first real one is fast."""
        self._retriever.search("warm up the model and the index", 1)

    def reload(self) -> bool:
        """Swap in the published index version if it differs from the loaded one."""
        with self._reload_lock:
            published = current_version(self.settings.index_dir)
            if published is None or published == self.version:
                return False
            index = load_index(
                self.settings.index_dir,
                model=self.settings.model,
                dimension=model_dimension(self.model),
            )
            self._retriever = Retriever(index, self.model)
            log.info("reloaded index version %s", index.manifest.version)
            return True
