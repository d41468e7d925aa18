"""Tests for retrieval.answer.span: the bold span is the phrase that answers the question."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.answer.engine import _adds_nothing
from retrieval.answer.features import Candidate
from retrieval.answer.question import analyse
from retrieval.answer.span import answer_span
from retrieval.search.lexical import Lexical
from retrieval.search.retriever import Hit

ENVOY = (
    '"We are not afraid of dialogue," said NATO Secretary-General Jens Stoltenberg, who will '
    "chair the talks with the alliance's 28 ambassadors and Moscow's envoy to NATO, "
    "Alexander Grushko."
)


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("Who is Moscow's envoy to NATO?", ENVOY, "Alexander Grushko"),
        ("Who will chair the talks?", ENVOY, "Jens Stoltenberg"),
        (
            "Which news agency carried Antonov's comments?",
            "The NATO countries' defense spending is increasing,\" Antonov said in comments "
            "carried by Russia's state-owned TASS news agency.",
            "TASS",
        ),
        (
            "Which country shot down a Russian fighter jet in November?",
            "Stoltenberg noted that NATO and Russia need transparency, especially following the "
            "November shooting down of a Russian fighter jet by key alliance member Turkey "
            "along its border with Syria.",
            "Turkey",
        ),
        (
            "How many British Army troops arrived in Estonia?",
            "Eight hundred British Army troops arrive in Estonia as part of NATO's Enhanced "
            "Forward Presence to deter Russian aggression in Eastern Europe.",
            "Eight hundred",
        ),
        (
            "How heavy was the crane that came down in Dongguan?",
            "At least 18 people are killed after a 80-tonne crane collapses on a temporary "
            "structure during a thunderstorm in the city of Dongguan, China.",
            "80-tonne",
        ),
        (
            "Who was sworn in as Myanmar's first civilian president in decades?",
            "In Myanmar's capital Naypyidaw, Htin Kyaw is sworn in by House Speaker Mahn Win "
            "Khaing Than as the first civilian president in 54 years.",
            "Htin Kyaw",
        ),
        (
            "Where did Russian warplanes buzz a US naval destroyer?",
            'Earlier this month, Russian warplanes "buzzed" over a US naval destroyer in the '
            "Baltic Sea.",
            "Baltic Sea",
        ),
        (
            "When was the NATO-Russia Council broken off?",
            "The NATO-Russia Council, which was broken off in June 2014 after the Crimea "
            "crisis, will meet in Brussels.",
            "June 2014",
        ),
    ],
)
def test_span_answers_the_question(question: str, sentence: str, span: str) -> None:
    """The span is the name, number, place or date the question asks for, not another one."""
    found = answer_span(analyse(question), sentence)
    assert found is not None
    assert sentence[found[0] : found[1]] == span


def test_no_span_when_the_sentence_only_repeats_the_question() -> None:
    """A sentence naming only what the question names has no span to mark."""
    q = analyse("Who met Jens Stoltenberg in Brussels?")
    assert answer_span(q, "Jens Stoltenberg was in Brussels.") is None


MASTERS = (
    "In golf, Danny Willett of England wins the 2016 Masters Tournament at Augusta.",
    "Golf, what a game, as my colleague Charlie Eccleshare just opined.",
    "Willett won the Masters by three strokes after Jordan Spieth faltered.",
)


def _candidates(sentences: tuple[str, ...]) -> list[Candidate]:
    text = " ".join(sentences)
    hit = Hit(0, "c", "d", 1.0, 1.0, 1.0, text, "Golf", "2016-04-10", None, 0)
    out, start = [], 0
    for i, s in enumerate(sentences):
        out.append(Candidate(hit, i, i, start, start + len(s), np.zeros(3), np.zeros(3)))
        start += len(s) + 1
    return out


def test_a_neighbour_naming_someone_else_but_sharing_no_question_word_is_left_out() -> None:
    """An aside that happens to hold a name adds nothing to "who won"; a neighbour about the
    question's subject does."""
    terms = Lexical(list(MASTERS)).terms
    info = analyse("Who won the Masters?")
    best, aside, related = _candidates(MASTERS)
    assert _adds_nothing(info, best, aside, terms)
    assert not _adds_nothing(info, best, related, terms)
