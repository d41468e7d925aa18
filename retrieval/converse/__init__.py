"""Conversations: follow-up questions read in the light of the turns before them.

``resolve`` reads a question against the earlier turns (text only), ``respond`` answers a
turn (follow-ups written out in full and searched with the earlier stories preferred,
requests about the last answer, complete questions as if alone), ``memory`` keeps the
last turns of a bounded number of conversations, ``render`` words a turn for people.
"""

from retrieval.converse.memory import ConversationMemory, MemoryLimits, memory_from
from retrieval.converse.render import format_turn
from retrieval.converse.respond import converse, respond
from retrieval.converse.turns import ContextUse, Turn

__all__ = [
    "ContextUse",
    "ConversationMemory",
    "MemoryLimits",
    "Turn",
    "converse",
    "format_turn",
    "memory_from",
    "respond",
]
