"""Answering questions for people, independent of Discord: shared by the bot and the console.

Turns a question into the reply text (or a short message for a bad question or an error),
as the next turn of a conversation when the adapter names one, runs the CPU-bound engine
in worker threads with a bounded number in flight, starts the watcher that swaps newly
published index versions in, and keeps the small bits of state the bot needs: per-user
cooldowns, the conversations, and recent answers (for feedback, replies and buttons).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from retrieval.answer.engine import Answer
from retrieval.answer.qa import QA
from retrieval.answer.render import format_answer
from retrieval.converse import ConversationMemory, Turn, converse, format_turn, memory_from
from retrieval.converse import respond as respond_turn
from retrieval.errors import BadQuestionError, NewsQAError
from retrieval.index.watch import IndexWatcher

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong while answering that. Please try again in a moment."


@dataclass(frozen=True)
class Reply:
    """The text to send for one question, and how it came about."""

    text: str
    answer: Answer | None  # None for a bad question or an error
    answer_ms: float  # time spent in the engine
    failed: bool = False  # an unexpected error (already logged with its traceback)
    turn: Turn | None = None  # the conversation turn, when asked in one


def reply(qa: QA, question: str, *, asked_at: datetime | None = None) -> Reply:
    """The engine answers, the bot replies: the message to send for ``question``, built
    synchronously; never raises, a bad question or a failure is a message too."""
    start = time.perf_counter()

    def answered() -> Reply:
        answer = qa.answer(question, asked_at=asked_at)
        ms = _ms_since(start)
        return Reply(format_answer(answer), answer, ms)

    return _never_raising(answered, start)


def reply_turn(
    qa: QA, memory: ConversationMemory, key: str, question: str, *,
    asked_at: datetime | None = None,
) -> Reply:  # fmt: skip
    """The reply to ``question`` as the next turn of conversation ``key``; like
    :func:`reply`, never raises for a question."""
    start = time.perf_counter()

    def answered() -> Reply:
        turn = converse(qa, memory, key, question, asked_at=asked_at)
        return Reply(format_turn(turn), turn.answer, _ms_since(start), turn=turn)

    return _never_raising(answered, start)


def _never_raising(answered: Callable[[], Reply], start: float) -> Reply:
    """``answered()``, or the message for a bad question or a failure (logged)."""
    try:
        return answered()
    except BadQuestionError as exc:
        return Reply(str(exc), None, _ms_since(start))
    except NewsQAError as exc:
        log.error("answering failed: %s", exc, exc_info=True)
        return Reply(APOLOGY, None, _ms_since(start), failed=True)
    except Exception:
        log.exception("answering failed unexpectedly")
        return Reply(APOLOGY, None, _ms_since(start), failed=True)


def follow(qa: QA, turn: Turn, request: str) -> Reply:
    """A request ("more", "source?") about the answer of ``turn``, outside its conversation
    (the buttons under an answer): the conversation itself is left as it was."""
    start = time.perf_counter()
    try:
        result = respond_turn(qa, [turn], request, number=turn.number + 1)
    except Exception:
        log.exception("answering a button failed")
        return Reply(APOLOGY, None, _ms_since(start), failed=True)
    return Reply(format_turn(result), result.answer, _ms_since(start), turn=result)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class Answerer:
    """Runs questions in worker threads, at most ``max_concurrent`` at a time.

    The event loop only awaits; the engine's embedding and search run in threads. Index
    reloads are serialised but never wait for, or interrupt, questions in flight: the engine
    swaps its index atomically and each question finishes on the version it started with.
    """

    def __init__(self, qa: QA, max_concurrent: int) -> None:
        self.qa = qa
        self.memory = memory_from(qa.settings)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._reload_lock = asyncio.Lock()

    async def reply(
        self, question: str, *, asked_at: datetime | None = None, conversation: str | None = None
    ) -> Reply:
        """The reply to ``question``, as the next turn of ``conversation`` if one is named."""
        async with self._slots:
            if conversation is None:
                return await asyncio.to_thread(reply, self.qa, question, asked_at=asked_at)
            return await asyncio.to_thread(
                reply_turn, self.qa, self.memory, conversation, question, asked_at=asked_at
            )

    async def follow(self, turn: Turn, request: str) -> Reply:
        async with self._slots:
            return await asyncio.to_thread(follow, self.qa, turn, request)

    async def reload(self) -> bool:
        """Swap in a newly published index; True if it changed. Raises NewsQAError."""
        async with self._reload_lock:
            return await asyncio.to_thread(self.qa.reload)

    @property
    def version(self) -> str:
        return self.qa.version


def watch_index(qa: QA, seconds: float) -> IndexWatcher | None:
    """Start swapping newly published index versions into ``qa``; None if ``seconds`` is 0.

    The watcher polls in a daemon thread, so it never touches the event loop; stop it with
    ``watcher.stop()``, which may wait for a load in progress (from the event loop, run it
    with ``asyncio.to_thread``).
    """
    if seconds <= 0:
        return None
    return IndexWatcher(qa, seconds, on_reload=lambda version: _swapped(qa, version)).start()


def _swapped(qa: QA, version: str) -> None:
    # Runs on the watcher's thread, after the swap: logging is all there is left to do.
    manifest = qa.retriever.index.manifest
    log.info(
        "index version %s swapped in: %d documents, %d chunks",
        version,
        manifest.documents,
        manifest.chunks,
    )


class Cooldown:
    """Per-user rate limit: one question every ``seconds``; a warning once per wait."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}
        self._warned: set[int] = set()

    def hit(self, user_id: int) -> tuple[float, bool]:
        """Record a question; returns (seconds left to wait or 0, whether to warn the user)."""
        now = self._clock()
        if len(self._last) > 10_000:  # forget users whose cooldown has long passed
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
            self._warned &= self._last.keys()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            warn = user_id not in self._warned
            self._warned.add(user_id)
            return self.seconds - (now - last), warn
        self._last[user_id] = now
        self._warned.discard(user_id)
        return 0.0, False


@dataclass(frozen=True)
class Asked:
    """What the bot remembers about an answer it sent, to log feedback on it."""

    question: str
    user_id: int
    confidence: float | None
    abstained: bool | None
    doc_ids: tuple[str, ...]
    conversation: str | None = None  # the conversation a reply to this answer continues
    turn: Turn | None = None  # the turn that "More" and "Sources" buttons are about


class RecentAnswers:
    """The last ``size`` answers by message id (an LRU, so memory stays bounded)."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._items: OrderedDict[int, Asked] = OrderedDict()

    def add(
        self, message_id: int, question: str, user_id: int, reply: Reply,
        conversation: str | None = None,
    ) -> None:  # fmt: skip
        a = reply.answer
        self._items[message_id] = Asked(
            question,
            user_id,
            a.confidence if a else None,
            a.abstained if a else None,
            tuple(s.doc_id for s in a.sources) if a else (),
            conversation,
            reply.turn,
        )
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, message_id: int) -> Asked | None:
        return self._items.get(message_id)

    def update_turn(self, message_id: int, turn: Turn) -> None:
        """Let the buttons of ``message_id`` go on from ``turn`` ("More" again: further)."""
        asked = self._items.get(message_id)
        if asked is not None:
            self._items[message_id] = replace(asked, turn=turn)
