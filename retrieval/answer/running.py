"""Running stories: for a toll or a count that grows ("the latest death toll", "how many
have died", "what is the death toll"), the newest report up to the day the question is
asked wins over an earlier one that matches the question's words as well or better, and a
sentence of the same report that counts what is asked wins over one that does not."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from retrieval.answer.features import Candidate
from retrieval.answer.phrases import asks_quantity
from retrieval.answer.question import QuestionInfo
from retrieval.answer.span import NUMBER_PHRASE
from retrieval.search.lexical import Lexical

_LATEST = re.compile(r"\b(?:latest|so far|now|currently|still|rises?|rising|risen)\b", re.I)
_TALLY = re.compile(
    r"\b(?:toll|how many|number of|tally|count|killed|dead|died|deaths?|injured|missing)\b",
    re.I,
)
_ASKS_COUNT = re.compile(
    r"\b(?:what|which)(?:'s| is| was)? (?:\w+ ){0,3}(?:toll|tally|count)\b", re.I
)
# What a count counts: a newer report must count what the question counts.
_COUNTS = (
    re.compile(
        r"\b(?:toll|killed|kills?|killing|dead|died|die|deaths?(?! row| penalty| sentence)"
        r"|lives|fatalities|succumb(?:ed|s)?)\b",
        re.I,
    ),
    re.compile(r"\b(?:injured|injuries|injuring|wounded|hurt)\b", re.I),
    re.compile(r"\b(?:missing)\b", re.I),
)
# Ranker-score gap within which a newer report may take over: wider for a report that
# counts what the question counts; "latest" lifts the limit.
MARGIN = 2.0
SAME_COUNT_MARGIN = 4.0
# A newer report is of the same story when its passage holds this share of the weight
# (inverse document frequency) of the question's words that the best passage holds.
SAME_STORY = 0.6


def is_running(info: QuestionInfo) -> bool:
    """Whether the question asks for a count that later reports may update."""
    return bool(_TALLY.search(info.text)) and (
        asks_quantity(info.wh, info.text)  # "how many died", "death toll ecuador earthquake"
        or bool(_LATEST.search(info.text) or _ASKS_COUNT.search(info.text))
    )


def _passage_terms(c: Candidate, lexical: Lexical) -> set[str]:
    """The terms of a candidate's passage: its chunk with the story's title."""
    return set(lexical.terms(f"{c.hit.title}\n{c.hit.text}"))


def _story_share(words: dict[str, float], best: set[str], other: set[str]) -> float:
    """Of the question's story words in the best passage, the idf-weighted share in other."""
    held = {t: w for t, w in words.items() if t in best}
    total = sum(held.values())
    return sum(w for t, w in held.items() if t in other) / total if total else 0.0


def newest_report(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, best: int,
    lexical: Lexical,
) -> int | None:  # fmt: skip
    """A candidate from a newer report of the same story than ``best`` that gives a count
    of what is asked, or None. Candidates are already limited to reports dated up to the
    asking day. The story is told by the whole passage: an update may name the place a
    sentence after its count, and the words of the count itself ("latest", "died") say
    nothing of which story it is."""
    if not is_running(info) or cands[best].hit.date is None:
        return None
    latest = _LATEST.search(info.text) is not None
    counts = [p for p in _COUNTS if p.search(info.text)]
    story = _TALLY.sub(" ", _LATEST.sub(" ", info.text))
    words = {t: lexical.idf(t) for t in lexical.terms(story)}

    mine = _passage_terms(cands[best], lexical)

    def margin(c: Candidate) -> float:
        if latest:
            return np.inf
        same_count = bool(counts) and all(p.search(c.text) for p in counts)
        return SAME_COUNT_MARGIN if same_count else MARGIN

    # A report of the same day counts too when the best sentence does not count what is
    # asked ("people taking shelter ... doubled" beside "killing at least 32 people").
    uncounted = bool(counts) and not all(p.search(cands[best].text) for p in counts)
    newer = [
        i
        for i, c in enumerate(cands)
        if c.hit.date is not None
        and (
            c.hit.date > (cands[best].hit.date or "")
            or (uncounted and i != best and c.hit.date == cands[best].hit.date)
        )
        and scores[best] - scores[i] <= margin(c)
        and NUMBER_PHRASE.search(c.text) is not None
        and (not counts or any(p.search(c.text) for p in counts))
        and _story_share(words, mine, _passage_terms(c, lexical)) >= SAME_STORY
    ]
    if not newer:
        return None
    return max(newer, key=lambda i: (cands[i].hit.date or "", float(scores[i])))


# "When did the earthquake happen?" asks for the day of an event, which its first report
# dates; "when will ..." and "when is ..." look ahead or at a schedule instead.
_EVENT_WHEN = re.compile(r"^\s*(?:and\s+|so\s+)?when\s+(?:did|was|were)\b", re.I)


def first_report(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, best: int,
    lexical: Lexical,
) -> int | None:  # fmt: skip
    """For a question asking when an event happened: a candidate from an older report of
    the same story than ``best``, scored within :data:`MARGIN` of it, or None. A later
    report (a rising toll, the aftermath) is dated after the event it follows up."""
    if not _EVENT_WHEN.search(info.text) or cands[best].hit.date is None:
        return None
    words = {t: lexical.idf(t) for t in lexical.terms(info.text)}
    mine = _passage_terms(cands[best], lexical)
    older = [
        i
        for i, c in enumerate(cands)
        if c.hit.date is not None
        and c.hit.date < (cands[best].hit.date or "")
        and scores[best] - scores[i] <= MARGIN
        and _story_share(words, mine, _passage_terms(c, lexical)) >= SAME_STORY
    ]
    if not older:
        return None
    return min(older, key=lambda i: (cands[i].hit.date or "", -float(scores[i])))


# "What happened in Ecuador?", "What's the latest on the Panama Papers?", "Any news about
# Zika?": the reader wants the newest story on a subject, not a fact within it.
_SUMMARY = re.compile(
    r"^\s*(?:so,?\s+|and\s+)?(?:"
    r"what(?:'s|’s| is| has)?\s+(?:happened|been happening|happening|going on|new|the latest"
    r"|the news)\s+(?:in|on|with|to|at|about|from|regarding|for|of|between)"
    r"|(?:any|the latest|latest)\s+(?:news|updates?)\s+(?:on|about|from|in|regarding|for)"
    r"|tell me about|news (?:on|about))"
    r"\s+(?P<subject>[^?.!]+?)\s*[?.!]*\s*$",
    re.I,
)
_SUBJECT_WORDS = 4  # a longer rest is a question of its own ("what happened to his ribs in ...")
# "What did Stoltenberg say?", "What has Grushko said?": the newest statement on record,
# not one fact ("what did X say about Y?" asks for one and is left to the ranker).
_SAID = re.compile(
    r"^\s*(?:so,?\s+|and\s+)?what\s+(?:did|does|has|have)\s+(?P<speaker>[^?.!]+?)\s+"
    r"(?:say|said)\s*[?.!]*\s*$",
    re.I,
)
_SPEECH = r"(?:said|says|say|told|tells|added|adds|stated|states|warned|warns|declared)"
_SPEAKER_REACH = 5  # words between a speaker's name and the verb of speech


def summary_subject(question: str) -> str | None:
    """The subject of a question that asks for the news on it, or None."""
    m = _SUMMARY.match(question)
    if not m or len(m.group("subject").split()) > _SUBJECT_WORDS:
        return None
    return m.group("subject")


def newest_story(
    subject: str, cands: Sequence[Candidate], scores: np.ndarray, lexical: Lexical
) -> int | None:
    """For a question asking for the news on ``subject``: the best-scored sentence of the
    newest story whose passage names every word of the subject, or None when no passage
    does. Candidates are already limited to stories dated up to the asking day."""
    words = set(lexical.terms(subject))
    if not words:
        return None
    covering = [
        i for i, c in enumerate(cands)
        if words <= _passage_terms(c, lexical)
    ]  # fmt: skip
    if not covering:
        return None
    return max(covering, key=lambda i: (cands[i].hit.date or "", float(scores[i])))


def speaker_asked(question: str) -> str | None:
    """The person whose words a question asks for ("What did Stoltenberg say?"), or None."""
    m = _SAID.match(question)
    if not m or len(m.group("speaker").split()) > _SUBJECT_WORDS:
        return None
    return m.group("speaker")


def newest_statement(speaker: str, cands: Sequence[Candidate], scores: np.ndarray) -> int | None:
    """The best-scored sentence of the newest story in which ``speaker`` speaks (the last
    word of the name beside a verb of speech: "Stoltenberg said", "said NATO chief Jens
    Stoltenberg", "according to Stoltenberg"), or None when no sentence has the speaker
    speak."""
    name = re.escape(speaker.split()[-1])
    gap = rf"(?:\W+\w+){{0,{_SPEAKER_REACH}}}\W+"
    speaks = re.compile(
        rf"\b{name}\b{gap}{_SPEECH}\b|\b(?:{_SPEECH}|according to){gap}{name}\b", re.I
    )
    said = [i for i, c in enumerate(cands) if speaks.search(c.text)]
    if not said:
        return None
    return max(said, key=lambda i: (cands[i].hit.date or "", float(scores[i])))
