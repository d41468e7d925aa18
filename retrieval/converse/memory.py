"""Bounded memory of conversations: the last few turns of each, for a while, for a few.

A busy server must not grow it without bound, so three limits hold at every moment:
at most ``max_turns`` turns per conversation (older ones are forgotten), a conversation
silent for ``idle_seconds`` is forgotten, and at most ``max_conversations`` are kept
(the least recently used goes first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.converse.turns import Turn
from retrieval.settings import Settings


@dataclass(frozen=True)
class MemoryLimits:
    """The bounds of a :class:`ConversationMemory` (see the NEWSQA_CONVERSATION_* settings)."""

    max_turns: int = 6
    idle_seconds: float = 600.0
    max_conversations: int = 1000


@dataclass
class _Entry:
    turns: list[Turn]
    last_seen: float
    count: int  # turns ever added: numbers the next one


class ConversationMemory:
    """Conversations by key (any string the adapter chooses: a thread, a DM, a reply chain).

    Safe to use from several threads. ``clock`` is injectable for tests.
    """

    def __init__(
        self, limits: MemoryLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or MemoryLimits()
        self._clock = clock
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)

    def __contains__(self, key: str) -> bool:
        return bool(self.turns(key))

    def turns(self, key: str) -> tuple[Turn, ...]:
        """The remembered turns of ``key``, oldest first (empty if none or forgotten)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._items.get(key)
            return tuple(entry.turns) if entry else ()

    def next_number(self, key: str) -> int:
        """The number the next turn of ``key`` will get (1 for a new conversation)."""
        with self._lock:
            self._expire(self._clock())
            entry = self._items.get(key)
            return entry.count + 1 if entry else 1

    def add(self, key: str, turn: Turn) -> None:
        """Remember ``turn`` as the latest of conversation ``key``."""
        limits = self.limits
        if limits.max_turns <= 0 or limits.max_conversations <= 0:
            return
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._items.get(key)
            if entry is None:
                entry = self._items[key] = _Entry([], now, 0)
            entry.turns.append(turn)
            entry.count += 1
            del entry.turns[: -limits.max_turns]
            entry.last_seen = now
            self._items.move_to_end(key)
            while len(self._items) > limits.max_conversations:
                self._items.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def _expire(self, now: float) -> None:
        # Least recently used first: stop at the first one still fresh.
        idle = self.limits.idle_seconds
        while self._items:
            key, entry = next(iter(self._items.items()))
            if now - entry.last_seen < idle:
                break
            del self._items[key]


def memory_from(settings: Settings) -> ConversationMemory:
    """A memory with the limits the settings give (NEWSQA_CONVERSATION_*)."""
    return ConversationMemory(
        MemoryLimits(
            max_turns=settings.conversation_turns,
            idle_seconds=settings.conversation_idle_seconds,
            max_conversations=settings.conversations_max,
        )
    )
