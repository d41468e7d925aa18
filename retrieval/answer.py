"""Answer a question with a verbatim quote from the corpus and the sources behind it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadQuestionError


@dataclass(frozen=True)
class Source:
    """A document backing an answer."""

    doc_id: str
    title: str
    date: str | None  # ISO YYYY-MM-DD
    url: str | None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, in rank order, with its fused score."""

    doc_id: str
    chunk_id: str
    score: float


@dataclass(frozen=True)
class Answer:
    """What the CLI prints and the bot sends.

    ``text`` is one or two sentences copied verbatim from one document, or None when the
    engine abstains; ``span`` marks the answer inside ``text`` where one was found.
    ``sources`` back the quote (duplicates of one story are collapsed into one answer and
    all their sources listed); when abstaining they are the nearest documents.
    """

    question: str
    text: str | None
    sources: tuple[Source, ...]
    confidence: float
    abstained: bool
    passages: tuple[Passage, ...] = ()
    span: tuple[int, int] | None = None
    date: str | None = None  # the answer's date, for "when" questions


def check_question(question: str, max_chars: int) -> str:
    """The question, stripped; raises :class:`BadQuestionError` with a message for people."""
    q = " ".join(question.split())
    if not q:
        raise BadQuestionError("Please ask a question: the message was empty.")
    if len(q) > max_chars:
        raise BadQuestionError(
            f"That question is {len(q)} characters long; please keep it under {max_chars}."
        )
    if not any(ch.isalnum() for ch in q):
        raise BadQuestionError("Please ask a question in words: I found nothing to search for.")
    return q


def answer_from_hits(question: str, hits: list, lexical_tokens, threshold: float) -> Answer:  # type: ignore[no-untyped-def]
    """First answer picker: the sentence of the top passages sharing most question terms."""
    from .sentences import sentence_spans

    q_terms = set(lexical_tokens(question))
    best: tuple[float, object, str] | None = None
    for hit in hits:
        for a, b in sentence_spans(hit.text):
            sent = hit.text[a:b]
            terms = set(lexical_tokens(sent))
            overlap = len(q_terms & terms) / (len(q_terms) or 1)
            score = overlap + hit.dense - 0.05 * (hit.rank - 1)
            if best is None or score > best[0]:
                best = (score, hit, sent)
    passages = tuple(Passage(h.doc_id, h.chunk_id, h.score) for h in hits)
    sources = tuple(Source(h.doc_id, h.title, h.date, h.url) for h in hits)
    if best is None or best[0] < threshold:
        return Answer(question, None, sources[:3], best[0] if best else 0.0, True, passages)
    score, hit, sent = best
    return Answer(
        question,
        sent,
        (Source(hit.doc_id, hit.title, hit.date, hit.url),),  # type: ignore[attr-defined]
        score,
        False,
        passages,
        date=hit.date,  # type: ignore[attr-defined]
    )
