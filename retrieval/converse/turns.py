"""What a conversation remembers of each turn, and how a turn used the ones before it."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.answer.engine import Answer
from retrieval.answer.question import Period


@dataclass(frozen=True)
class ContextUse:
    """One thing an earlier turn supplied: ``what`` is "subject" (a name put in for a
    pronoun), "question" (the earlier question an ellipsis completes), "stories" (the
    documents searched first), "period" (dates carried over), "answer" (the answer a
    request is about, or the person it named, put in for "he"), or "tried without an
    answer" (the reading that found nothing, before the question was answered alone);
    ``turn`` is that turn's number in the conversation."""

    turn: int
    what: str
    value: str


@dataclass(frozen=True)
class Turn:
    """One question of a conversation and what came of it.

    ``kind`` is "question" (answered as if alone), "follow-up" (read with the context),
    or a request about the last answer: "more", "sources", "why", "who_said".
    ``understood`` is the question as answered; ``answer`` what the engine answered (for
    "sources", the answer whose sources are listed); ``note`` a plain reply instead of an
    answer ("there is nothing more in that story"). ``subjects``, ``doc_ids``, ``period``
    and ``shown`` are what later turns may lean on.
    """

    number: int
    question: str
    understood: str
    kind: str
    answer: Answer | None
    uses: tuple[ContextUse, ...] = ()
    note: str | None = None
    subjects: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    period: Period | None = None
    shown: tuple[str, ...] = ()  # sentences quoted so far from the story, for "more"
    switched: bool = False  # a complete question after earlier turns: a new topic

    def explain(self) -> str:
        """How the context was used, in a few lines for people (``ask --explain``, chat)."""
        lines = [f"turn {self.number}: {self.kind}"]
        if self.kind in ("question", "follow-up") and self.understood != self.question:
            lines.append(f"understood as: {self.understood}")
        elif self.kind not in ("question", "follow-up"):
            lines.append(f"about the answer to: {self.understood}")
        if self.switched and not self.uses:
            lines.append("a complete question on its own: answered as if asked alone")
        elif self.switched:
            lines.append("the context found no answer: answered as if asked alone")
        for use in self.uses:
            lines.append(f"from turn {use.turn}: {use.what} = {use.value}")
        if not self.uses and not self.switched and self.number == 1:
            lines.append("first turn: no context")
        return "\n".join(lines)

    def context_json(self) -> dict[str, object]:
        """The same as data, for the batch JSON."""
        return {
            "turn": self.number,
            "kind": self.kind,
            "understood": self.understood,
            "switched": self.switched,
            "used": [{"turn": u.turn, "what": u.what, "value": u.value} for u in self.uses],
        }
