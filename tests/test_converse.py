"""Conversations: reading follow-ups in context, requests about the last answer, topic
switches, and the bounded memory; on hand-written turns and on the default corpus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from retrieval.answer.qa import QA
from retrieval.answer.render import format_answer
from retrieval.converse import (
    ConversationMemory,
    MemoryLimits,
    Turn,
    converse,
    format_turn,
    respond,
)
from retrieval.converse import resolve as r
from retrieval.converse.respond import NO_MORE, NO_TURN
from retrieval.errors import BadQuestionError
from retrieval.settings import Settings

ASKED = datetime(2023, 10, 5, 12, tzinfo=UTC)
EURONEWS = "http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks-after-two-years/"


@pytest.fixture(scope="module")
def qa(default_index: Settings, model) -> QA:  # type: ignore[no-untyped-def]
    return QA.open(default_index, encoder=model)


# -- reading a question (text only) ----------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("more", "more"),
        ("Tell me more!", "more"),
        ("anything else?", "more"),
        ("source?", "sources"),
        ("link?", "sources"),
        ("What are the sources?", "sources"),
        ("who said that?", "who_said"),
        ("Says who?", "who_said"),
        ("who claimed that?", "who_said"),
        ("who claimed it?", "pronoun"),  # after an attack: who claimed responsibility
        ("why?", "why"),
        ("And why is that?", "why"),
        ("Where will it be held?", "pronoun"),
        ("How much did Westinghouse pay for his designs?", "pronoun"),
        ("How many people lived there in 1939?", "pronoun"),
        ("When was that?", "pronoun"),
        ("and when?", "ellipsis"),
        ("What about Russia?", "about"),
        ("How many schools are there in Newcastle?", "question"),
        ("When was ambulatory care pharmacy approved as its own certification?", "question"),
        ("Who chaired the NATO-Russia Council talks?", "question"),
        ("Is there more coal in Wales?", "question"),
    ],
)
def test_classify(question: str, kind: str) -> None:
    """Requests, pronouns, ellipses and complete questions are told apart; an existential
    "there", "its own" and a word like "more" inside a question are not follow-ups."""
    assert r.classify(question).kind == kind


def test_definite_phrase_of_the_last_turn_is_a_follow_up() -> None:
    """A definite phrase ("the talks") leans on the last turn only if it was about talks."""
    last = frozenset(["when", "did", "nato", "reopen", "talks", "with", "russia"])
    assert r.classify("Who chaired the talks?", last).kind == "definite"
    assert r.classify("Who chaired the talks?", frozenset({"weather"})).kind == "question"
    assert r.classify("What was the black death blamed on?", last).kind == "question"


def test_a_question_that_names_nothing_is_about_the_last_turn() -> None:
    """ "How many people died?" names no story: after a turn it asks about that turn's
    story; a question with a name or a word of its own, or with no turn before it, does
    not."""
    last = frozenset(["what", "happened", "in", "ecuador"])
    for q in ("How many people died?", "Who was arrested?", "who won", "What was the cause?",
              "how many died?", "What happened?"):  # fmt: skip
        assert r.classify(q, last).kind == "bare", q
    for q in ("How large can ctenophora grow?", "How many people died in Kerala?",
              "What is the immune system?"):  # fmt: skip
        assert r.classify(q, last).kind == "question", q
    assert r.classify("How many people died?").kind == "question"
    quoted = frozenset(["mitsubishi", "admits", "rules", "for", "625,000", "vehicles"])
    assert r.classify("how many vehicles?", quoted).kind == "bare"
    assert r.classify("how many vehicles?", last).kind == "question"
    reading = r.classify("How many people died?", last)
    assert (
        r.rewrite("How many people died?", reading, "Ecuador") == "How many people died (Ecuador)?"
    )


@pytest.mark.parametrize(
    ("question", "antecedent", "expected"),
    [
        ("Who did the National Anthem at it?", "Super Bowl 50",
         "Who did the National Anthem at Super Bowl 50?"),
        ("How much did Westinghouse pay for his designs?", "Tesla",
         "How much did Westinghouse pay for Tesla's designs?"),
        ("How many people lived there in 1939?", "Warsaw",
         "How many people lived in Warsaw in 1939?"),
        ("What was its Old Town listed as?", "Warsaw", "What was Warsaw's Old Town listed as?"),
        ("It was ruled by whom?", "the Yuan dynasty", "The Yuan dynasty was ruled by whom?"),
    ],
)  # fmt: skip
def test_rewrite_pronoun(question: str, antecedent: str, expected: str) -> None:
    """A pronoun is replaced by its antecedent in the form the sentence needs."""
    assert r.rewrite(question, r.classify(question), antecedent) == expected


def test_and_before_a_question_of_its_own_is_no_what_about() -> None:
    """ "and Russia?" asks the earlier question about Russia; "and did the president
    resign?" is a question of its own, not "what about 'did the president resign'"."""
    assert r.classify("and Russia?").kind == "about"
    assert r.classify("and the Yuan dynasty?").focus == "Yuan dynasty"
    assert r.classify("and did the president resign?").kind == "question"
    assert r.classify("but why did it fall?").kind == "pronoun"


def test_she_is_the_name_the_last_turn_shows_to_be_a_person() -> None:
    """ "her" after a question on Brazil's vote against Rousseff is Rousseff, whom the quote
    gives a title, not Brazil, the most salient name; with no person among the subjects,
    the person the quote names; with none at all, the most salient name as before."""
    q = "who would replace her?"
    said = (
        "Why did Brazil's lower house vote to impeach Rousseff? The Chamber of Deputies "
        "votes to impeach President Dilma Rousseff."
    )
    assert r.is_person("Rousseff", said) and not r.is_person("Brazil", said)
    assert r.is_person("Hale", "Anton Hale said the talks were over.")
    assert not r.is_person("General Conference", "The General Conference met.")
    reading = r.classify(q)
    assert r.pick_antecedent(reading, q, ["Brazil", "Rousseff"], said, said) == "Rousseff"
    quote = "Brazil's lower house votes to impeach President Dilma Rousseff."
    assert r.pick_antecedent(reading, q, ["Brazil"], quote, quote) == "President Dilma Rousseff"
    # Nothing says Tesla is no person: he stays the subject.
    assert r.pick_antecedent(reading, q, ["Tesla"], quote, "Who hired Tesla? " + quote) == "Tesla"
    who = r.classify("who is he?")
    assert (
        r.pick_antecedent(who, "who is he?", ["Brussels"], said, "They meet in Brussels.") is None
    )
    it = r.classify("what did it cost?")
    assert r.pick_antecedent(it, "what did it cost?", ["Brazil", "Rousseff"], said, said) == (
        "Brazil"
    )


def test_rewrite_ellipsis_and_what_about() -> None:
    """An ellipsis ("and where?") asks the earlier question again with a new question word
    ("where did it happen" for "what happened"); "what about Russia?" puts Russia in the
    earlier subject's place."""
    previous = "When did NATO meet Russia?"
    assert r.rewrite("and where?", r.classify("and where?"), "", previous) == (
        "Where did NATO meet Russia?"
    )
    previous = "What happened to Will Smith?"
    assert r.rewrite("where?", r.classify("where?"), "", previous) == (
        "Where did it happen to Will Smith?"
    )
    previous = "What did NATO say about the meeting?"
    reading = r.classify("What about Russia?")
    assert r.rewrite("What about Russia?", reading, "NATO", previous) == (
        "What did Russia say about the meeting?"
    )


def test_subjects_prefer_what_the_story_is_titled() -> None:
    """The subject is the name the answering story's title holds, not another name of the
    question; a topic written in lower case is found through the title too."""
    q = "What year did a Super Bowl play in the bay area near San Francisco, before Super Bowl 50?"
    assert r.subjects(q, "Super Bowl 50")[0] == "Super Bowl 50"
    assert r.subjects("What is a simple form of civil disobedience?", "Civil disobedience") == [
        "civil disobedience"
    ]
    found = r.subjects("Rather than the fuel, what is oxygen to a fire?", "Oxygen")
    assert found == ["oxygen"]  # "Rather" only starts the sentence
    # A headline is not a subject's name: only the names count.
    headline = "NATO set for first formal talks with Russia for two years"
    assert r.subjects("When did NATO reopen talks with Russia?", headline) == ["NATO", "Russia"]


def test_event_pronoun_takes_the_noun_phrase() -> None:
    """An event's pronoun ("where will it be held?") stands for the meeting asked about."""
    q = "Where will it be held?"
    previous = "When did NATO announce the council meeting?"
    assert r.pick_antecedent(r.classify(q), q, ["NATO"], previous) == "the council meeting"
    q2 = "Who leads it?"
    assert r.pick_antecedent(r.classify(q2), q2, ["NATO"], previous) == "NATO"


# -- memory ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _turn(n: int, text: str = "q") -> Turn:
    return Turn(n, text, text, "question", None)


def test_memory_keeps_the_last_turns_and_numbers_on() -> None:
    """Only the last ``max_turns`` turns stay; turn numbers keep counting."""
    memory = ConversationMemory(MemoryLimits(max_turns=2, idle_seconds=60, max_conversations=5))
    for n in range(1, 5):
        assert memory.next_number("a") == n
        memory.add("a", _turn(n))
    assert [t.number for t in memory.turns("a")] == [3, 4]
    assert memory.next_number("a") == 5


def test_memory_forgets_after_silence_and_bounds_conversations() -> None:
    """A conversation silent for ``idle_seconds`` is gone; at most ``max_conversations``
    are kept, the least recently used leaving first."""
    clock = Clock()
    memory = ConversationMemory(MemoryLimits(3, idle_seconds=60, max_conversations=2), clock)
    memory.add("a", _turn(1))
    clock.now = 30
    memory.add("b", _turn(1))
    clock.now = 61
    assert memory.turns("a") == () and len(memory.turns("b")) == 1
    assert memory.next_number("a") == 1  # a new conversation
    memory.add("a", _turn(1))
    memory.add("c", _turn(1))  # third conversation: "b" was used least recently
    assert "b" not in memory and "a" in memory and "c" in memory
    assert len(memory) == 2
    clock.now = 1000
    assert len(memory) == 0


# -- on the default corpus ---------------------------------------------------------------


def test_nato_council_meeting_follow_up(qa: QA) -> None:
    """After the council meeting question, "Where will it be held?" is read as the meeting
    and answered with Brussels, more surely than the same words alone (at higher odds: a
    measure that does not depend on where the calibration puts both; the words alone may
    find the Brussels sentence too, on "held" and the place asked for, but name no meeting)."""
    first = respond(qa, [], "When did NATO announce the council meeting?", asked_at=ASKED)
    assert first.kind == "question" and first.number == 1 and not first.uses
    turn = respond(qa, [first], "Where will it be held?", asked_at=ASKED)
    assert turn.kind == "follow-up" and turn.number == 2
    assert turn.understood == "Where will the council meeting be held?"
    assert [(u.turn, u.what) for u in turn.uses][:2] == [(1, "subject"), (1, "stories")]
    assert turn.answer is not None and not turn.answer.abstained
    assert "Brussels" in (turn.answer.text or "")
    alone = qa.answer("Where will it be held?", asked_at=ASKED)

    def odds(p: float) -> float:
        return p / (1 - p)

    assert odds(turn.answer.confidence) > 1.5 * odds(alone.confidence)
    text = format_turn(turn)
    assert text.startswith("-# Taken as: Where will the council meeting be held?\n> ")
    assert "understood as: Where will the council meeting be held?" in turn.explain()


def test_a_name_typed_in_lower_case_is_no_follow_up(qa: QA) -> None:
    """ "what did stoltenberg say?" after a quote naming Stoltenberg names him itself: it
    is asked alone (his newest statement), not read as a question about the last story."""
    first = respond(qa, [], "Who will chair the talks?", asked_at=ASKED)
    assert "Stoltenberg" in (first.answer.text or "")  # type: ignore[union-attr]
    turn = respond(qa, [first], "what did stoltenberg say?", asked_at=ASKED)
    assert turn.kind == "question" and turn.understood == "what did stoltenberg say?"
    assert turn.answer == qa.answer("what did stoltenberg say?", asked_at=ASKED)
    assert not turn.answer.abstained


def test_topic_switch_is_answered_as_if_alone(qa: QA) -> None:
    """A complete question after an earlier turn gets exactly the answer it gets alone."""
    first = respond(qa, [], "Where will the council meeting be held?", asked_at=ASKED)
    q = "Who will chair the talks with the alliance's 28 ambassadors?"
    turn = respond(qa, [first], q, asked_at=ASKED)
    alone = qa.answer(q, asked_at=ASKED)
    assert turn.kind == "question" and turn.switched and not turn.uses
    assert turn.answer == alone


def test_more_gives_new_sentences_of_the_same_story(qa: QA) -> None:
    """A request for more quotes the next best sentences of the answer's story, never one
    already shown, until the story has nothing left."""
    turns = [respond(qa, [], "Where will the council meeting be held?", asked_at=ASKED)]
    first = turns[0].answer
    assert first is not None and first.text
    story = first.sources[0].doc_id
    quoted = [first.text]
    for _ in range(3):
        turn = respond(qa, turns, "tell me more", asked_at=ASKED)
        turns.append(turn)
        assert turn.kind == "more" and turn.uses[0].what == "answer"
        if turn.note == NO_MORE:
            break
        assert turn.answer is not None and turn.answer.text
        assert turn.answer.sources[0].doc_id == story
        assert all(turn.answer.text not in q and q not in turn.answer.text for q in quoted)
        quoted.append(turn.answer.text)
    assert len(quoted) >= 3


def test_sources_and_who_said_that(qa: QA) -> None:
    """Asking for the source lists the last answer's links; "who said that?" points at the
    speaker the quote names; a request before any answer says so."""
    first = respond(qa, [], "When did NATO reopen talks with Russia?", asked_at=ASKED)
    turn = respond(qa, [first], "link?", asked_at=ASKED)
    assert turn.kind == "sources" and turn.answer == first.answer
    assert format_turn(turn).startswith("Sources of that answer:\n• [")
    assert EURONEWS in format_turn(turn)
    first = respond(qa, [], "Who will chair the talks?", asked_at=ASKED)
    turn = respond(qa, [first], "who said that?", asked_at=ASKED)
    assert turn.answer is not None and turn.answer.span is not None
    s, e = turn.answer.span
    assert "Stoltenberg" in (turn.answer.text or "")[s:e]
    assert "**NATO Secretary-General Jens Stoltenberg**" in format_turn(turn)
    assert respond(qa, [], "more").note == NO_TURN


def test_converse_keeps_conversations_apart(qa: QA) -> None:
    """Turns go to their own conversation: a follow-up in another one has no context."""
    memory = ConversationMemory()
    converse(qa, memory, "alice", "When did NATO announce the council meeting?", asked_at=ASKED)
    followed = converse(qa, memory, "alice", "Where will it be held?", asked_at=ASKED)
    stranger = converse(qa, memory, "bob", "Where will it be held?", asked_at=ASKED)
    assert followed.kind == "follow-up" and followed.number == 2
    assert stranger.kind == "question" and stranger.number == 1 and not stranger.uses
    assert stranger.answer == qa.answer("Where will it be held?", asked_at=ASKED)
    assert [t.number for t in memory.turns("alice")] == [1, 2]
    with pytest.raises(BadQuestionError):
        converse(qa, memory, "alice", "   ")
    assert len(memory.turns("alice")) == 2


def test_format_turn_stays_within_the_limit(qa: QA) -> None:
    """A follow-up's reply with its "taken as" line never exceeds the limit."""
    first = respond(qa, [], "When did NATO announce the council meeting?", asked_at=ASKED)
    turn = respond(qa, [first], "Where will it be held?", asked_at=ASKED)
    assert turn.answer is not None
    for limit in (2000, 300, 120):
        text = format_turn(turn, limit=limit)
        assert len(text) <= limit
    assert format_turn(turn).endswith(format_answer(turn.answer).splitlines()[-1])


def test_its_is_never_the_person_answered(qa: QA) -> None:
    """After "who will chair the talks?", "its" in "where will Russia deploy its ...?" is
    not the answer's: a "who" answer is a person or a body, never "it"."""
    first = respond(qa, [], "Who will chair the talks?", asked_at=ASKED)
    assert first.answer is not None and first.answer.span is not None
    turn = respond(
        qa, [first], "Where will Russia deploy its new missile defense systems?", asked_at=ASKED
    )
    start, end = first.answer.span
    named = (first.answer.text or "")[start:end]
    assert named and named[0].isupper()  # a name
    assert named not in turn.understood, turn.understood
    assert turn.answer is not None and "Kuril" in (turn.answer.text or "")


def test_he_after_a_who_question_is_the_person_answered(qa: QA) -> None:
    """After "who will chair the talks?", "he" is the person the answer names; after a
    question whose story is titled by its subject, the pronoun keeps that subject, unless
    the question names it with "the" ("who won the Masters?")."""
    first = respond(qa, [], "Who will chair the talks?", asked_at=ASKED)
    assert first.answer is not None and first.answer.span is not None
    start, end = first.answer.span
    named = (first.answer.text or "")[start:end]  # a person's name, no title
    assert named in ("Jens Stoltenberg", "Alexander Grushko")
    turn = respond(qa, [first], "What did he say?", asked_at=ASKED)
    assert turn.understood == f"What did {named} say?"
    assert turn.uses[0].what == "answer" and turn.uses[0].turn == 1
    # A subject named by its story's title wins over the answer (squad-style turns).
    tesla = Turn(
        1, "Who hired Tesla?", "Who hired Tesla?", "question",
        replace(first.answer, sources=(replace(first.answer.sources[0], title="Nikola Tesla"),)),
        subjects=("Tesla",), doc_ids=first.doc_ids,
    )  # fmt: skip
    turn = respond(qa, [tesla], "What was his device called?", asked_at=ASKED)
    assert turn.understood == "What was Tesla's device called?"
    # A subject the question names with "the" is a thing or an event, never "he".
    masters = replace(
        tesla, question="Who won the Masters?", understood="Who won the Masters?",
        answer=replace(first.answer, sources=(
            replace(first.answer.sources[0], title="2016 Masters Tournament"),)),
        subjects=("Masters",),
    )  # fmt: skip
    turn = respond(qa, [masters], "What did he say?", asked_at=ASKED)
    assert turn.understood == f"What did {named} say?"


def test_context_that_finds_nothing_gives_way_to_the_question_alone(qa: QA) -> None:
    """When the follow-up read with its context finds no answer but the question alone
    does, the answer alone is given, and the turn records the reading it tried."""
    first = respond(qa, [], "Who will chair the talks?", asked_at=ASKED)
    odd = replace(first, understood="What is the Zorblatt kiwano harvest?",
                  subjects=("the Zorblatt kiwano harvest",), doc_ids=())  # fmt: skip
    turn = respond(qa, [odd], "Who will chair it?", asked_at=ASKED)
    assert turn.kind == "question" and turn.switched
    assert [(u.turn, u.what, u.value) for u in turn.uses] == [
        (1, "tried without an answer", "Who will chair the Zorblatt kiwano harvest?")
    ]
    assert turn.answer == qa.answer("Who will chair it?", asked_at=ASKED)
    assert "the context found no answer" in turn.explain()


def test_a_bare_follow_up_asks_about_the_last_story(
    qa_of: Callable[[list[dict[str, str]]], QA],
) -> None:
    """After "What happened in Velmar?", "How many people died?" is the Velmar earthquake's
    toll; the words alone fit two stories and are not answered from the earthquake's."""
    rows = [
        {"id": "quake", "title": "Earthquake in Velmar", "date": "2023-06-10",
         "url": "https://news.example/quake",
         "text": "A strong earthquake strikes the coast of Velmar overnight. At least 77 people "
                 "died in the quake, rescuers say, and the old harbour was destroyed."},
        {"id": "festival", "title": "Deaths at a music festival", "date": "2023-06-10",
         "url": "https://news.example/festival",
         "text": "Five people died at the Harwick music festival after taking drugs, "
                 "police say. Five more people are in hospital."},
    ]  # fmt: skip
    qa = qa_of(rows)
    asked = datetime(2023, 6, 11, 9, tzinfo=UTC)
    alone = qa.answer("How many people died?", asked_at=asked)
    assert alone.abstained or alone.sources[0].doc_id != "quake"
    first = respond(qa, [], "What happened in Velmar?", asked_at=asked)
    turn = respond(qa, [first], "How many people died?", asked_at=asked)
    assert turn.kind == "follow-up" and turn.understood == "How many people died (Velmar)?"
    assert turn.answer is not None and not turn.answer.abstained
    assert "77" in (turn.answer.text or "") and turn.answer.sources[0].doc_id == "quake"
    switch = respond(qa, [first], "How many people died at the Harwick festival?", asked_at=asked)
    assert switch.kind == "question" and "Five" in (switch.answer.text or "")  # type: ignore[union-attr]


def test_a_follow_up_in_the_words_of_the_last_answer_stays_on_its_story(
    qa_of: Callable[[list[dict[str, str]]], QA],
) -> None:
    """ "How many vehicles?" after a quote about Ostrava Motors' vehicles counts that
    maker's vehicles; asked alone it fits a recall by another maker as well."""
    rows = [
        {"id": "tests", "title": "Ostrava Motors admits to rigged fuel tests", "date": "2023-06-10",
         "url": "https://news.example/tests",
         "text": "Ostrava Motors admits that its fuel economy tests broke the rules for about "
                 "625,000 small vehicles sold at home. Its shares fell by a fifth."},
        {"id": "recall", "title": "Brenner recalls cars", "date": "2023-06-10",
         "url": "https://news.example/recall",
         "text": "Brenner recalls 1.1 million vehicles worldwide because the gear lever "
                 "confuses drivers."},
    ]  # fmt: skip
    qa = qa_of(rows)
    asked = datetime(2023, 6, 11, 9, tzinfo=UTC)
    alone = qa.answer("How many vehicles?", asked_at=asked)
    assert alone.abstained or alone.sources[0].doc_id != "tests"
    first = respond(qa, [], "What did Ostrava Motors admit?", asked_at=asked)
    assert first.answer is not None and first.answer.sources[0].doc_id == "tests"
    turn = respond(qa, [first], "How many vehicles?", asked_at=asked)
    assert turn.kind == "follow-up" and turn.understood.startswith("How many vehicles (")
    assert turn.answer is not None and not turn.answer.abstained
    assert "625,000" in (turn.answer.text or "") and turn.answer.sources[0].doc_id == "tests"


def test_a_bare_follow_up_the_story_does_not_answer_is_not_asked_alone(
    qa_of: Callable[[list[dict[str, str]]], QA],
) -> None:
    """When the last story has no toll, "How many people died?" abstains rather than
    quote another story's toll (asked alone, the words fit any story that counts deaths);
    "who did he replace?" after "Who is Ivo Marek?" asks about Marek, not his titles."""
    rows = [
        {"id": "flood", "title": "Floods in Velmar", "date": "2023-06-10",
         "url": "https://news.example/flood",
         "text": "Heavy rain floods the old town of Velmar and closes its harbour for a week."},
        {"id": "festival", "title": "Deaths at a music festival", "date": "2023-06-10",
         "url": "https://news.example/festival",
         "text": "Five people died at the Harwick music festival after taking drugs, "
                 "police say. Five more people are in hospital."},
        {"id": "cabinet", "title": "Velmar's new prime minister", "date": "2023-06-10",
         "url": "https://news.example/cabinet",
         "text": "The council of Velmar appoints Ivo Marek as Prime Minister of Velmar, "
                 "replacing Anton Hale."},
    ]  # fmt: skip
    qa = qa_of(rows)
    asked = datetime(2023, 6, 11, 9, tzinfo=UTC)
    alone = qa.answer("How many people died?", asked_at=asked)
    assert not alone.abstained and alone.sources[0].doc_id == "festival"
    first = respond(qa, [], "What happened in Velmar?", asked_at=asked)
    assert first.answer is not None and not first.answer.abstained
    turn = respond(qa, [first], "How many people died?", asked_at=asked)
    assert turn.kind == "follow-up" and turn.understood == "How many people died (Velmar)?"
    assert turn.answer is not None and turn.answer.abstained
    who = respond(qa, [], "Who is Ivo Marek?", asked_at=asked)
    turn = respond(qa, [who], "who did he replace?", asked_at=asked)
    assert turn.understood == "who did Ivo Marek replace?"
    assert "Anton Hale" in (turn.answer.text or "")  # type: ignore[union-attr]


def test_a_question_that_names_nothing_is_about_what_its_answer_names(
    qa_of: Callable[[list[dict[str, str]]], QA],
) -> None:
    """ "Which airline was hijacked?" names nothing: its subject is the airline its answer
    names, so "where did it land?" asks where Ostravia Air's flight landed."""
    rows = [
        {"id": "hijack", "title": "Drama at Larnaca airport", "date": "2023-06-10",
         "url": "https://news.example/hijack",
         "text": "A hijacked Ostravia Air flight lands in Larnaca. All hostages are released "
                 "and the hijacker gives himself up."},
        {"id": "harvest", "title": "Record harvest", "date": "2023-06-10",
         "url": "https://news.example/harvest",
         "text": "Farmers in Velmar bring in a record wheat harvest after a wet spring."},
    ]  # fmt: skip
    qa = qa_of(rows)
    asked = datetime(2023, 6, 11, 9, tzinfo=UTC)
    first = respond(qa, [], "Which airline was hijacked?", asked_at=asked)
    assert first.answer is not None and not first.answer.abstained
    named = next(s for s in first.subjects if s.startswith("Ostravia"))  # the span's name
    turn = respond(qa, [first], "where did it land?", asked_at=asked)
    assert turn.understood == f"where did {named} land?"
    assert turn.answer is not None and "Larnaca" in (turn.answer.text or "")
