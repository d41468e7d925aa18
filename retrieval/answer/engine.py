"""Answer a question with a verbatim quote from the corpus and the sources behind it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np

from retrieval.answer.features import (
    _PRONOUN_START,
    QUESTION_WORDS,
    Candidate,
    candidates,
    featurize,
    presence,
)
from retrieval.answer.question import QuestionInfo, analyse, respelled
from retrieval.answer.ranker import Ranker, calibration_inputs
from retrieval.answer.reader import Reader
from retrieval.answer.running import (
    first_report,
    newest_report,
    newest_statement,
    newest_story,
    speaker_asked,
    summary_subject,
)
from retrieval.answer.span import answer_span, candidate_spans, holds_count, typed_span
from retrieval.errors import BadQuestionError
from retrieval.ingest.textnorm import valid_text
from retrieval.search.lexical import Lexical
from retrieval.search.retriever import Hit, Retriever


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
    date: str | None = None  # the date of the quoted document
    answer_type: str = ""  # what the question asks for: "when", "who", "how_many", ...
    trace: Trace | None = field(default=None, repr=False, compare=False)  # when asked for


@dataclass(frozen=True, eq=False)
class Trace:
    """How an answer came about, kept when asked for (``ask --explain`` prints it): the
    question's reading, the passages, and every candidate sentence with its feature row
    and ranker score (rows of ``features`` follow :data:`~.features.FEATURES`)."""

    info: QuestionInfo
    hits: tuple[Hit, ...]
    candidates: tuple[Candidate, ...]
    features: np.ndarray  # one row per candidate
    scores: np.ndarray  # the ranker's score of each candidate
    threshold: float
    ranked: np.ndarray | None = None  # with the reader's added, when it read (`read`)
    note: str = ""  # why the engine abstained despite the confidence, if it did


def check_question(question: str, max_chars: int) -> str:
    """The question, stripped; raises :class:`BadQuestionError` with a message for people."""
    q = " ".join(valid_text(question).split())
    if not q:
        raise BadQuestionError("Please ask a question: the message was empty.")
    if len(q) > max_chars:
        raise BadQuestionError(
            f"That question is {len(q)} characters long; please keep it under {max_chars}."
        )
    if not any(ch.isalnum() for ch in q):
        raise BadQuestionError("Please ask a question in words: I found nothing to search for.")
    return q


CANDIDATE_CHUNKS = 8  # chunks whose sentences compete for the answer
PASSAGES = 10  # passages reported with an answer
MAX_WORDS = 70  # a quote with its neighbour stays short
YEAR_SLACK = 0.1  # fused score by which a story outside a bare year must beat those in it
_DUPLICATE_JACCARD = 0.8


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _source(hit: Hit) -> Source:
    return Source(hit.doc_id, hit.title, hit.date, hit.url)


def _sources(hits: Sequence[Hit], limit: int) -> tuple[Source, ...]:
    out: dict[str, Source] = {}
    for h in hits:
        out.setdefault(h.doc_id, _source(h))
    return tuple(out.values())[:limit]


def _duplicates(best: Candidate, cands: Sequence[Candidate]) -> list[Hit]:
    """Hits of other documents quoting the same sentence (syndicated copies, teasers)."""
    words = _words(best.text)
    seen = {best.hit.doc_id}
    out = []
    for c in cands:
        if c.hit.doc_id in seen:
            continue
        if _jaccard(words, _words(c.text)) >= _DUPLICATE_JACCARD:
            seen.add(c.hit.doc_id)
            out.append(c.hit)
    return out


def distinct(cands: Sequence[Candidate], scores: np.ndarray) -> np.ndarray:
    """Indices of the candidates the confidence weighs: all but other documents' copies of
    the top-scored sentence (a syndicated copy is the same report, not a rival answer)."""
    top = cands[int(np.argmax(scores))]
    words = _words(top.text)
    return np.array([
        i for i, c in enumerate(cands)
        if c is top or c.hit.doc_id == top.hit.doc_id
        or _jaccard(words, _words(c.text)) < _DUPLICATE_JACCARD
    ])  # fmt: skip


def confidence_inputs(
    info: QuestionInfo, lexical: Lexical, cands: Sequence[Candidate], scores: np.ndarray,
    features: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The calibration inputs of an answer (`ranker.calibration_inputs`), copies of the best
    sentence set aside, what the top-scored sentence lacks of the question included."""
    keep = distinct(cands, scores)
    top = cands[int(np.argmax(scores))]
    return calibration_inputs(scores[keep], features[keep], presence(info, top, lexical))


def answer_confidence(
    ranker: Ranker, info: QuestionInfo, lexical: Lexical, cands: Sequence[Candidate],
    scores: np.ndarray, features: np.ndarray,
) -> float:  # fmt: skip
    """The ranker's calibrated confidence (:func:`confidence_inputs`)."""
    return ranker.calibrated(confidence_inputs(info, lexical, cands, scores, features))


NO_COUNT = 'abstained: the best quote gives no count for a "how many" question'
READ_TOP = 3  # the ranker's best sentences (distinct texts) that the reader reads


def read(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, reader: Reader,
    weight: float,
) -> np.ndarray:  # fmt: skip
    """``scores`` with the reader's say added: each of the READ_TOP best-scored sentences
    (and its copies) gains ``weight`` times the reader's score of its best candidate
    phrase, so the sentence that holds an answer to the question moves up among them;
    every other sentence gains the least of those, so none overtakes a sentence read."""
    order = np.argsort(-scores, kind="stable")
    texts: list[str] = []
    for i in order:
        if cands[i].text not in texts:
            texts.append(cands[i].text)
            if len(texts) == READ_TOP:
                break
    best = reader.best(info.text, [(t, candidate_spans(info, t)) for t in texts])
    finite = np.isfinite(best)
    if not finite.any():
        return scores
    best[~finite] = best[finite].min()  # a sentence of the question's words alone
    of_text = dict(zip(texts, best.tolist(), strict=True))
    low = float(best.min())
    return scores + weight * np.array([of_text.get(c.text, low) for c in cands])


def pick(scores: np.ndarray, cands: Sequence[Candidate], margin: float) -> tuple[int, int | None]:
    """The best candidate, and a sentence next to it worth quoting too: one of the next two
    that the ranker scores within ``margin`` of the best (the answer often sits in the
    sentence after the one that matches the question)."""
    order = np.argsort(-scores)
    best = int(order[0])
    b = cands[best]
    for other in order[1:3]:
        c = cands[int(other)]
        if (
            c.hit.position == b.hit.position
            and abs(c.index_in_chunk - b.index_in_chunk) == 1
            and scores[best] - scores[other] <= margin
        ):
            return best, int(other)
    return best, None


# A line without a closing full stop, question or exclamation mark is a headline or a
# heading: it is never glued to a body sentence.
_HEADING = re.compile(r"[^.!?:;\"”’')\]]\s*$")


def _same_passage(text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two sentences that may be quoted together: on one line, or on two lines of which
    neither is a headline or heading (a line that does not end like a sentence)."""
    lo, hi = (a, b) if a[0] < b[0] else (b, a)
    if "\n" not in text[lo[1] : hi[0]]:
        return True
    return not (_HEADING.search(text[lo[0] : lo[1]]) or _HEADING.search(text[hi[0] : hi[1]]))


def quote(best: Candidate, partner: Candidate | None) -> tuple[str, int]:
    """The quoted text (the best sentence, with its partner or, for a sentence that cannot
    stand alone, its neighbour) and the offset of the best sentence inside it."""
    chunk = best.hit
    spans = chunk.sentences
    j = best.index_in_chunk
    start, end = spans[j]
    if partner is not None and _same_passage(
        chunk.text, (start, end), (partner.start, partner.end)
    ):
        start, end = min(start, partner.start), max(end, partner.end)
    elif (
        _PRONOUN_START.match(best.text) and j > 0
        and not _HEADING.search(chunk.text[slice(*spans[j - 1])])
    ):  # fmt: skip
        start = spans[j - 1][0]
    elif (
        (len(best.text.split()) < 6 or best.text.rstrip().endswith(":")) and j + 1 < len(spans)
        and _same_passage(chunk.text, (start, end), spans[j + 1])
    ):  # fmt: skip
        end = spans[j + 1][1]
    text = chunk.text[start:end]
    if len(text.split()) > MAX_WORDS:
        start, end = spans[j]
        text = chunk.text[start:end]
    return text, best.start - start


def _adds_nothing(
    info: QuestionInfo, best: Candidate, partner: Candidate, terms: Callable[[str], list[str]]
) -> bool:
    """The best sentence holds an answer of the kind asked, and its neighbour holds none or
    shares none of the question's words (a byline or an aside that happens to name someone);
    only for questions whose kind of answer is clear: a name, number, date or place."""
    if info.wh not in ("who", "how_many", "when", "where"):
        return False
    if typed_span(info, best.text) is None:
        return False
    if typed_span(info, partner.text) is None:
        return True
    return not set(terms(info.text)) & set(terms(partner.text))


def chosen(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, margin: float,
    lexical: Lexical, ranked: np.ndarray | None = None,
) -> tuple[Candidate, Candidate | None]:  # fmt: skip
    """The sentence to quote and the neighbour quoted with it, as replies choose them
    (`bench/train_ranker.py` scores the same choice): picked by ``ranked`` (the scores
    with the reader's added) when given; a running count's newest report and an event's
    first report are weighed by the ranker's own ``scores``."""
    best_i, partner_i = pick(scores if ranked is None else ranked, cands, margin)
    newer = newest_report(info, cands, scores, best_i, lexical)
    if newer is not None and newer != partner_i:  # a running toll: the newest report
        best_i, partner_i = newer, None
    first = first_report(info, cands, scores, best_i, lexical)
    if first is not None:  # when an event happened: its first report
        best_i, partner_i = first, None
    best = cands[best_i]
    partner = cands[partner_i] if partner_i is not None else None
    if partner is not None and _adds_nothing(info, best, partner, lexical.terms):
        partner = None
    return best, partner


# The words an agreeing report must hold: every number of the answer, or a name's last word.
_VALUE_WORD = re.compile(r"\d[\d,.]*\d|\d|\w[\w'’-]*")


def _value_words(phrase: str) -> set[str]:
    words = _VALUE_WORD.findall(phrase)
    numbers = {w for w in words if w[0].isdigit()}
    if numbers:
        return numbers
    names = [w for w in words if w[0].isupper()]
    return {names[-1].lower()} if names else set()


def second_report(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, best: Candidate
) -> np.ndarray | None:
    """The candidates left without the quoted document and its copies, when the best-scored
    of them is another document's report of the same name or number as the quote (an
    independent source agreeing with it); None when it is not."""
    if info.wh == "when":
        return None  # a story's date is its own; two reports need not share it
    span = typed_span(info, best.text)
    value = _value_words(best.text[slice(*span)]) if span else set()
    if not value:
        return None
    copies = {best.hit.doc_id} | {h.doc_id for h in _duplicates(best, cands)}
    rest = np.array([i for i, c in enumerate(cands) if c.hit.doc_id not in copies], dtype=int)
    if not len(rest):
        return None
    other = cands[int(rest[int(np.argmax(scores[rest]))])]
    words = {w if w[0].isdigit() else w.lower() for w in _VALUE_WORD.findall(other.window)}
    return rest if value <= words else None


def second_source(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, features: np.ndarray,
    best: Candidate, ranker: Ranker, lexical: Lexical,
) -> float | None:  # fmt: skip
    """The confidence the corpus would answer with, without the quoted document and its
    copies, when that answer agrees with the quote (see :func:`second_report`)."""
    rest = second_report(info, cands, scores, best)
    if rest is None:
        return None
    return answer_confidence(
        ranker, info, lexical, [cands[i] for i in rest], scores[rest], features[rest]
    )


def agreed(confidence: float, second: float | None, threshold: float) -> float:
    """The confidence of an answer that an independent source agrees with, where that
    source would be quoted on its own (``second`` at or above ``threshold``): either report
    alone may be wrong, both wrong together is less likely."""
    if second is None or second < threshold:
        return confidence
    return 1.0 - (1.0 - confidence) * (1.0 - second)


def _shift(span: tuple[int, int] | None, offset: int) -> tuple[int, int] | None:
    return (span[0] + offset, span[1] + offset) if span is not None else None


@dataclass(frozen=True)
class Gathered:
    """Everything retrieved for a question before the ranker picks a sentence."""

    info: QuestionInfo
    asked: date | None
    qvec: np.ndarray
    hits: list[Hit]
    candidates: list[Candidate]


def gather(
    retriever: Retriever,
    question: str,
    *,
    asked_at: datetime | None = None,
    since: str | None = None,
    until: str | None = None,
    allowed: np.ndarray | None = None,
    prefer: np.ndarray | None = None,
    prefer_weight: float = 0.0,
) -> Gathered:
    """Retrieve passages and their candidate sentences.

    A period named in the question ("in April 2016", or "this week" resolved against
    ``asked_at``) limits the dated documents searched, unless nothing matches in it; the
    CLI's ``since``/``until`` win over it. Documents dated after ``asked_at`` are left out.
    ``allowed``, ``prefer`` and ``prefer_weight`` go to :meth:`Retriever.search`.
    """
    info = analyse(question, asked_at)
    asked = asked_at.date() if asked_at is not None else None
    lo, hi = since, until
    if lo is None and hi is None and info.period is not None:
        lo, hi = info.period.since, info.period.until
    if asked is not None and (hi is None or hi > asked.isoformat()):
        hi = asked.isoformat()
    qvec = retriever.embed_question(question)
    # Recent stories are preferred unless the question names its own period.
    recent_to = asked if info.period is None or info.period.relative else None
    hits = retriever.search(
        question, PASSAGES, since=lo, until=hi, qvec=qvec, recent_to=recent_to, allowed=allowed,
        prefer=prefer, prefer_weight=prefer_weight,
    )  # fmt: skip
    cap = until
    if asked is not None and (cap is None or cap > asked.isoformat()):
        cap = asked.isoformat()  # the fallback, too, never sees stories after the question
    whole_year = (
        info.period is not None
        and info.period.since is not None
        and (info.period.since.endswith("-01-01") and (info.period.until or "").endswith("-12-31"))
    )
    if (not hits or whole_year) and (lo, hi) != (since, cap):
        # A bare year ("dropped in 2009") often dates the event asked about, not the
        # report: the year narrows the search only if its stories match about as well.
        wide = retriever.search(
            question, PASSAGES, since=since, until=cap, qvec=qvec, allowed=allowed,
            prefer=prefer, prefer_weight=prefer_weight,
        )  # fmt: skip
        if not hits or (wide and wide[0].score > hits[0].score + YEAR_SLACK):
            hits = wide
    cands = candidates(hits[:CANDIDATE_CHUNKS], retriever.sentence_vectors)
    return Gathered(info, asked, qvec, hits, cands)


def answer(
    retriever: Retriever,
    ranker: Ranker,
    question: str,
    *,
    threshold: float,
    asked_at: datetime | None = None,
    since: str | None = None,
    until: str | None = None,
    allowed: np.ndarray | None = None,
    prefer: np.ndarray | None = None,
    prefer_weight: float = 0.0,
    explain: bool = False,
    reader: Reader | None = None,
) -> Answer:
    """Quote the corpus sentence most likely to answer ``question``, or abstain below
    ``threshold`` with the nearest sources. ``allowed`` (a flag per chunk) limits the
    chunks searched, as benchmarks do to ask a question of a corpus without its answer;
    ``prefer`` and ``prefer_weight`` favour some chunks, as a conversation does its
    stories (see :meth:`Retriever.search`). ``explain`` keeps the :class:`Trace`;
    ``reader`` helps choose the sentence (with a ranker fitted for it, see `Ranker.reading`)
    and the bold span."""
    original, question = question, respelled(question)
    terms = retriever.lexical.terms
    if not set(terms(question)) - set(terms(QUESTION_WORDS)):
        raise BadQuestionError(
            "Please say who or what you are asking about: that question names nothing to look up."
        )
    g = gather(
        retriever, question, asked_at=asked_at, since=since, until=until, allowed=allowed,
        prefer=prefer, prefer_weight=prefer_weight,
    )  # fmt: skip
    hits, cands = g.hits, g.candidates
    passages = tuple(Passage(h.doc_id, h.chunk_id, h.score) for h in hits)
    if cands:
        features = featurize(g.info, g.qvec, retriever.lexical, cands)
        scores = ranker.scores(features)
        confidence = answer_confidence(ranker, g.info, retriever.lexical, cands, scores, features)
    else:
        features, scores, confidence = np.zeros((0, 0)), np.zeros(0), 0.0
    trace = (
        Trace(g.info, tuple(hits), tuple(cands), features, scores, threshold) if explain else None
    )
    ranked = None
    subject, speaker = summary_subject(question), speaker_asked(question)
    story = newest_story(subject, cands, scores, retriever.lexical) if subject else None
    if speaker is not None:
        story = newest_statement(speaker, cands, scores)
    if story is not None:  # the news on a subject, or someone's words: the newest, sure or not
        best, partner = cands[story], None
    elif cands:
        # The reader reads the best sentences to choose the quote among them; the
        # confidence stays the ranker's (see `Ranker.with_reader`).
        if reader is not None and ranker.reader_weight:
            ranked = read(g.info, cands, scores, reader, ranker.reader_weight)
            trace = trace and replace(trace, ranked=ranked)
        best, partner = chosen(
            g.info, cands, scores, ranker.neighbour_margin, retriever.lexical, ranked
        )
        second = second_source(g.info, cands, scores, features, best, ranker, retriever.lexical)
        confidence = agreed(confidence, second, threshold)
    if story is None and (not cands or confidence < threshold or speaker is not None):
        # (the words of someone who never speaks in the corpus are not on record)
        return Answer(original, None, _sources(hits, 3), confidence, True, passages, trace=trace)
    text, offset = quote(best, partner)
    if story is None and not holds_count(question, text):
        # The quote is on the story but gives no count: the corpus does not say how many.
        trace = trace and replace(trace, note=NO_COUNT)
        return Answer(original, None, _sources(hits, 3), confidence, True, passages, trace=trace)
    span = _shift(answer_span(g.info, best.text, reader=reader), offset) if story is None else None
    if (
        partner is not None and partner.text in text
        and typed_span(g.info, best.text) is None and typed_span(g.info, partner.text) is not None
    ):  # fmt: skip
        # The answer may sit in the quoted neighbour ("A fire occurs at a temple in
        # Kerala. At least 102 people have been killed ...").
        span = _shift(
            answer_span(g.info, partner.text, reader=reader), offset + partner.start - best.start
        )
    backing = [best.hit, *_duplicates(best, cands)]
    return Answer(
        question=original,
        text=text,
        sources=_sources(backing, 10),
        confidence=confidence,
        abstained=False,
        passages=passages,
        span=span,
        date=best.hit.date,
        answer_type=g.info.wh,
        trace=trace,
    )
