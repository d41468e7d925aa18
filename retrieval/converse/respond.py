"""Answer one turn of a conversation: a follow-up read with its context, a request about
the last answer, or a complete question answered as if alone.

Synchronous and pure of Discord, like :meth:`QA.answer`; the caller keeps the turns (in a
:class:`~retrieval.converse.memory.ConversationMemory` or a list) and passes them in.

A follow-up is written out in full (its pronoun replaced by what it stands for) and
searched with the stories of the turn it leans on preferred: their passages get
``prefer_weight`` added to their fused score (in cosine units), so the same story wins
unless another one matches the question clearly better. A pronoun next to a name the
earlier stories never mention ("as it was pre-built", in a question about Skylab) is
the question's own: it is then answered as a new topic.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from retrieval.answer.engine import (
    Answer,
    Source,
    answer_confidence,
    check_question,
    gather,
    pick,
    quote,
    read,
)
from retrieval.answer.features import featurize
from retrieval.answer.qa import QA
from retrieval.answer.question import Period, analyse
from retrieval.answer.span import WHO_IS
from retrieval.converse import resolve
from retrieval.converse.memory import ConversationMemory
from retrieval.converse.resolve import Reading
from retrieval.converse.turns import ContextUse, Turn
from retrieval.search.retriever import Retriever

log = logging.getLogger(__name__)

# Added to the fused score (cosine units) of the passages of the stories a follow-up
# leans on: enough to win over a near tie, not over a clearly better story. Set by hand,
# not learnt: on the conv dev set every weight from 0 to 0.3 scores the same (the
# rewritten question finds the story by itself there); `bench/conversations.py --tune`
# cross-validates it on any future set where it matters.
PREFER_WEIGHT = 0.15
STORIES = 3  # documents of an answer a follow-up prefers (its quote's and duplicates)

NO_TURN = "Ask me a question first: there is no earlier answer to go on."
NO_ANSWER = "I had no answer to that, so there is nothing to add: try asking another way."
NO_MORE = "That is all I found about it in that story."
NO_WHY = "The story doesn't say why."
NO_SPEAKER = "The quote doesn't say who said it."

_CAUSE = re.compile(
    r"\b(?:because(?: of)?|due to|as a result of|owing to|thanks to|in order to|so as to|"
    r"so that|in response to|in protest (?:at|against|over)|for fear of|caused by|"
    r"citing|on the grounds that|the reason)\b[^.;]*",
    re.I,
)
_PERSON = r"(?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*"
_ROLE = (
    r"(?:an?|the|its|their)\s+(?:[\w-]+\s+){0,3}?(?:spokes(?:man|woman|person)|official|"
    r"minister|president|secretary|chief|head|leader|envoy|diplomat|source|analyst|expert|"
    r"ambassador|general|director|chairman|chair|member|officer|statement)"
)
_SAID = r"(?:said|says|told|stated|added|wrote|noted|warned|declared|insisted|announced)"
_SPEAKER = (
    re.compile(rf"\b(?:{_SAID}|according to)\s+(?P<n>{_PERSON}|{_ROLE})"),
    re.compile(rf"(?P<n>{_PERSON}|{_ROLE})\s*(?:,[^,]{{1,80}},\s*)?{_SAID}\b"),
)


def respond(
    qa: QA,
    history: Sequence[Turn],
    question: str,
    *,
    asked_at: datetime | None = None,
    since: str | None = None,
    until: str | None = None,
    number: int | None = None,
    prefer_weight: float = PREFER_WEIGHT,
    explain: bool = False,
) -> Turn:
    """The next turn after ``history`` (oldest first): raises BadQuestionError for an empty
    or overlong question, like :meth:`QA.answer`. ``explain`` keeps the answer's trace."""
    q = check_question(question, qa.settings.max_question_chars)
    number = number or (history[-1].number + 1 if history else 1)
    retriever = qa.retriever  # one index version for the whole turn
    source = _last_answered(history)
    if source is None:
        if resolve.classify(q).request:  # "more" with nothing before it
            return Turn(number, q, q, resolve.classify(q).kind, None, note=NO_TURN)
        return _alone(
            qa, retriever, q, number, asked_at, since, until, switched=False, explain=explain
        )
    assert source.answer is not None
    reading = resolve.classify(q, _last_words(source))
    if reading.request:
        return _request(qa, retriever, reading.kind, q, number, source)
    if reading.follow_up and not (
        reading.kind == "pronoun" and not _known(retriever, source, reading.own_names)
    ):
        return _follow_up(
            qa, retriever, reading, q, number, source, asked_at, since, until, prefer_weight,
            explain,
        )  # fmt: skip
    return _alone(qa, retriever, q, number, asked_at, since, until, switched=True, explain=explain)


def converse(
    qa: QA,
    memory: ConversationMemory,
    key: str,
    question: str,
    *,
    asked_at: datetime | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Turn:
    """Answer ``question`` as the next turn of conversation ``key`` and remember it."""
    turn = respond(
        qa, memory.turns(key), question, asked_at=asked_at, since=since, until=until,
        number=memory.next_number(key),
    )  # fmt: skip
    memory.add(key, turn)
    return turn


def _last_answered(history: Sequence[Turn]) -> Turn | None:
    for turn in reversed(history):
        if turn.answer is not None:
            return turn
    return None


def _last_words(turn: Turn) -> frozenset[str]:
    """The words of the last question and quote that are written in lower case somewhere
    in them: a name ("Stoltenberg") is no word a question can lean on without naming it."""
    text = turn.understood + " " + ((turn.answer.text or "") if turn.answer else "")
    return frozenset(w for w in re.findall(r"[\w-]+", text) if not w[:1].isupper())


def _known(retriever: Retriever, turn: Turn, own_names: Sequence[str]) -> bool:
    """Whether the question's own names belong to the earlier turn's topic: named by it,
    or found in its stories (a name they never mention points to a new topic)."""
    if not own_names:
        return True
    said = (turn.understood + " " + " ".join(turn.subjects)).lower()
    unknown = [n for n in own_names if n.lower() not in said]
    if not unknown:
        return True
    text = _stories_text(retriever, turn).lower()
    return any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", text) for n in unknown)


def _stories_text(retriever: Retriever, turn: Turn) -> str:
    """The text of the earlier turn's stories, titles included."""
    positions = retriever.doc_positions(turn.doc_ids)
    if not len(positions):
        return ""
    docs = retriever.index.docs
    text = " ".join(c.text for c, _ in retriever.index.fetch_chunks([int(p) for p in positions]))
    return text + " " + " ".join(docs[d].title for d in turn.doc_ids if d in docs)


def _facts(answer: Answer, question: str, inherit: Turn | None) -> dict[str, object]:
    """What later turns may lean on: the turn's subjects and stories."""
    title = answer.sources[0].title if answer.sources else ""
    subjects = resolve.subjects(question, title, answer.text or "")
    if not subjects and answer.span is not None and answer.text and not answer.abstained:
        # A question that names nothing ("Which airline was hijacked?") is about what its
        # answer names ("EgyptAir").
        subjects = resolve.names(answer.text[answer.span[0] : answer.span[1]])
    doc_ids = tuple(s.doc_id for s in answer.sources[:STORIES])
    if inherit is not None:
        subjects = subjects or list(inherit.subjects)
        doc_ids = doc_ids if not answer.abstained else inherit.doc_ids
    return {
        "subjects": tuple(subjects),
        "doc_ids": doc_ids,
        "shown": (answer.text,) if answer.text and not answer.abstained else (),
    }


def _alone(
    qa: QA, retriever: Retriever, q: str, number: int, asked_at: datetime | None,
    since: str | None, until: str | None, *, switched: bool, explain: bool = False,
) -> Turn:  # fmt: skip
    answer = qa.answer(
        q, asked_at=asked_at, since=since, until=until, retriever=retriever, explain=explain
    )
    period = analyse(q, asked_at).period
    return Turn(
        number, q, q, "question", answer, period=period, switched=switched,
        **_facts(answer, q, None),  # type: ignore[arg-type]
    )  # fmt: skip


def _follow_up(
    qa: QA, retriever: Retriever, reading: Reading, q: str, number: int, source: Turn,
    asked_at: datetime | None, since: str | None, until: str | None, prefer_weight: float,
    explain: bool = False,
) -> Turn:  # fmt: skip
    uses: list[ContextUse] = []
    previous = source.understood
    said = f"{previous} {source.answer.text or ''}" if source.answer else previous
    subjects = source.subjects
    if (reading.pronoun or "").lower() in ("it", "its"):
        # A "who" answer is "it" only when the turn shows it to be a thing ("Turkey", in
        # "in Turkey"): "its new missiles" after "who will chair the talks?" are not his.
        person = [n for n in _who_answered(source) if not resolve.is_thing(n, said)]
        subjects = tuple(s for s in subjects if s not in person)
    antecedent = resolve.pick_antecedent(reading, q, subjects, previous, said)
    answered = _answered_name(source, reading)
    if answered is not None:
        antecedent = answered
    if reading.kind in ("ellipsis", "about"):
        understood = resolve.rewrite(q, reading, antecedent or "", previous)
        uses.append(ContextUse(source.number, "question", previous))
        if reading.kind == "about" and antecedent and antecedent in previous:
            uses.append(ContextUse(source.number, "subject", antecedent))
    elif antecedent:
        understood = resolve.rewrite(q, reading, antecedent, previous)
        uses.append(ContextUse(source.number, "answer" if answered else "subject", antecedent))
    else:
        understood = q  # nothing to put in: the stories alone carry the context
    if source.doc_ids and prefer_weight:
        uses.append(ContextUse(source.number, "stories", ", ".join(source.doc_ids)))
    period = analyse(understood, asked_at).period
    if period is None and source.period is not None and since is None and until is None:
        period = source.period
        since, until = period.since, period.until
        uses.append(ContextUse(source.number, "period", _period_text(period)))
    answer = qa.answer(
        understood, asked_at=asked_at, since=since, until=until, prefer_docs=source.doc_ids,
        prefer_weight=prefer_weight, retriever=retriever, explain=explain,
    )  # fmt: skip
    if answer.abstained and reading.kind != "bare":
        # The context did not help: if the question finds an answer alone, that is it (not
        # for a question that names nothing: alone, it fits whichever story comes first).
        alone = _alone(qa, retriever, q, number, asked_at, since, until, switched=True)
        if alone.answer is not None and not alone.answer.abstained:
            tried = ContextUse(source.number, "tried without an answer", understood)
            return replace(alone, uses=(tried,))
    return Turn(
        number, q, understood, "follow-up", answer, tuple(uses), period=period,
        **_facts(answer, understood, source),  # type: ignore[arg-type]
    )  # fmt: skip


def _who_answered(source: Turn) -> list[str]:
    """The names the bold span of a "who" answer holds."""
    answer = source.answer
    if answer is None or answer.answer_type != "who" or answer.span is None or not answer.text:
        return []
    s, e = answer.span
    return resolve.names(answer.text[s:e])


def _answered_name(source: Turn, reading: Reading) -> str | None:
    """The earlier answer itself when a pronoun points at it: "he" after "who will chair
    the talks?" is the person the answer names. Only when the earlier question had no
    stronger subject of its own: a name its story's title holds ("Tesla" in "Nikola
    Tesla") stays the subject ("who hired Tesla?", then "what was his device called?"),
    unless the question names it with "the" ("who won the Masters?": no person), and not
    after "who is X?", whose answer is X's titles."""
    answer = source.answer
    pronoun = (reading.pronoun or "").lower()
    if reading.kind != "pronoun" or answer is None or answer.span is None or not answer.text:
        return None
    if pronoun not in resolve.PERSON_PRONOUNS or answer.answer_type != "who":
        return None
    title = answer.sources[0].title if answer.sources else ""
    # "NATO" is no "he", nor is what the question names with "the" ("the Masters").
    subjects = [
        s for s in source.subjects
        if not s.isupper() and not re.search(rf"\bthe\s+{re.escape(s)}\b", source.understood, re.I)
    ]  # fmt: skip
    if subjects and resolve.named_by(title, subjects[0]):
        return None
    if subjects and WHO_IS.match(source.understood):
        return None  # "Who is Volodymyr Groysman?": the answer is his titles, he the subject
    name = _who_answered(source)
    return name[0] if name else None


def _period_text(period: Period) -> str:
    return f"{period.since or '…'}..{period.until or '…'} ({period.phrase})"


def _request(qa: QA, retriever: Retriever, kind: str, q: str, number: int, source: Turn) -> Turn:
    """A request ("more", "sources", "why", "who_said") about ``source``'s answer."""
    answer = source.answer
    assert answer is not None
    used = (ContextUse(source.number, "answer", _short(answer.text or source.understood)),)
    keep = {
        "subjects": source.subjects, "doc_ids": source.doc_ids, "period": source.period,
        "shown": source.shown,
    }  # fmt: skip

    def reply(result: Answer | None, note: str | None = None, **changes: object) -> Turn:
        facts = {**keep, **changes}
        return Turn(
            number, q, source.understood, kind, result, used, note=note,
            **facts,  # type: ignore[arg-type]
        )  # fmt: skip

    if kind == "sources":
        return reply(answer)
    if answer.abstained or not answer.text:
        return reply(None, NO_ANSWER)
    story = answer.sources[0].doc_id
    if kind == "who_said":
        found = _speaker(answer.text)
        if found is None:
            return reply(None, NO_SPEAKER)
        return reply(_same_quote(answer, found, "who"))
    if kind == "why":
        found = _cause(answer.text)
        if found is not None:
            return reply(_same_quote(answer, found, "why"))
        why = resolve.rewrite(q, Reading("ellipsis", wh="why"), "", source.understood)
        more = _from_story(qa, retriever, why, story, source.shown)
        if more is None or more.text is None or (span := _cause(more.text)) is None:
            return reply(None, NO_WHY)
        return reply(_same_quote(more, span, "why"), shown=(*source.shown, more.text))
    more = _from_story(qa, retriever, source.understood, story, source.shown)
    if more is None or more.text is None:
        return reply(None, NO_MORE)
    return reply(more, shown=(*source.shown, more.text))


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _speaker(text: str) -> tuple[int, int] | None:
    for pattern in _SPEAKER:
        for m in pattern.finditer(text):
            name = m.group("n")
            if name.split()[0] in ("The", "A", "An") and not re.search(_ROLE, name):
                continue
            return m.span("n")
    return None


def _cause(text: str) -> tuple[int, int] | None:
    m = _CAUSE.search(text)
    return (m.start(), m.end()) if m else None


def _same_quote(answer: Answer, span: tuple[int, int], kind: str) -> Answer:
    return Answer(
        question=answer.question, text=answer.text, sources=answer.sources,
        confidence=answer.confidence, abstained=False, passages=answer.passages, span=span,
        date=answer.date, answer_type=kind,
    )  # fmt: skip


def _from_story(
    qa: QA, retriever: Retriever, question: str, story: str, shown: Sequence[str]
) -> Answer | None:
    """The best sentence of ``story`` for ``question`` not quoted yet, or None."""
    positions = retriever.doc_positions([story])
    if not len(positions):
        return None
    allowed = np.zeros(len(retriever.index), dtype=bool)
    allowed[positions] = True
    g = gather(retriever, question, allowed=allowed)
    fresh = [c for c in g.candidates if not any(c.text.strip() in s for s in shown)]
    if not fresh:
        return None
    x = featurize(g.info, g.qvec, retriever.lexical, fresh)
    scores = qa.ranker.scores(x)
    ranked = scores
    if qa.reader is not None and qa.ranker.reader_weight:
        ranked = read(g.info, fresh, scores, qa.reader, qa.ranker.reader_weight)
    best_i, partner_i = pick(ranked, fresh, qa.ranker.neighbour_margin)
    best = fresh[best_i]
    text, _ = quote(best, fresh[partner_i] if partner_i is not None else None)
    if any(text.strip() in s for s in shown):
        text = best.text
    h = best.hit
    return Answer(
        question=question, text=text, sources=(Source(h.doc_id, h.title, h.date, h.url),),
        confidence=answer_confidence(qa.ranker, g.info, retriever.lexical, fresh, scores, x),
        abstained=False, date=h.date,
        answer_type="more",
    )  # fmt: skip
