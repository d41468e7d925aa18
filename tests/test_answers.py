"""The answer engine on known corpora: quotes, sources, dates, abstention, duplicates."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.engine import (
    NO_COUNT,
    answer_confidence,
    distinct,
    gather,
    second_source,
)
from retrieval.answer.features import featurize, presence
from retrieval.answer.qa import QA
from retrieval.answer.ranker import CALIBRATION_INPUTS
from retrieval.answer.render import format_answer
from retrieval.answer.running import (
    first_report,
    newest_report,
    speaker_asked,
    summary_subject,
)
from retrieval.answer.span import holds_count
from retrieval.cli.main import main
from retrieval.errors import BadQuestionError
from retrieval.index.build import build_index
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ASKED = datetime(2023, 10, 5, 12, tzinfo=UTC)
QaOf = Callable[[list[dict[str, str]]], QA]  # the conftest fixture qa_of


@pytest.fixture(scope="session")
def default_qa(default_index: Settings, model) -> QA:  # type: ignore[no-untyped-def]
    return QA.open(default_index, encoder=model)


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory, model) -> QA:  # type: ignore[no-untyped-def]
    """The bundled corpus, the test corpus, and two syndicated copies of one story."""
    root = tmp_path_factory.mktemp("mixed")
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus / "default")
    shutil.copytree(REPO / "tests" / "data" / "corpus", corpus / "test")
    story = (
        "The Harwick city council voted 7 to 2 to ban leaf blowers powered by petrol. "
        "The ban takes effect on 1 March 2024."
    )
    rows = [
        {"id": "wire-1", "title": "Harwick bans petrol leaf blowers", "date": "2023-09-28",
         "url": "https://wire.example/harwick", "text": story},
        {"id": "paper-2", "title": "Council bans leaf blowers", "date": "2023-09-29",
         "url": "https://paper.example/harwick-blowers", "text": story},
        {"id": "old-ferry", "title": "Ferry timetable", "date": "2021-03-02",
         "url": "https://old.example/ferry",
         "text": "The Holm ferry company ordered a new electric ferry named Skarvik Star."},
    ]  # fmt: skip
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = replace(Settings(), corpus_dir=corpus, index_dir=root / "index")
    build_index(settings, encoder=model)
    return QA.open(settings, encoder=model)


def test_who_chaired_quotes_stoltenberg_with_a_link(default_qa: QA) -> None:
    """The chair question quotes a corpus sentence naming Stoltenberg and links a source."""
    a = default_qa.answer("Who chaired the NATO-Russia Council talks?", asked_at=ASKED)
    assert not a.abstained and a.text
    assert "Stoltenberg" in a.text
    corpus_text = "".join(p.read_text() for p in (REPO / "corpus").iterdir())
    assert a.text in " ".join(corpus_text.split()) or a.text in corpus_text
    assert a.sources and a.sources[0].doc_id.endswith(".txt")
    reply = format_answer(a)
    assert "Stoltenberg" in reply


def test_when_question_answers_with_the_date(default_qa: QA) -> None:
    """'When did NATO reopen talks?' answers from the 2016-04-20 page and shows the date."""
    a = default_qa.answer("When did NATO reopen talks with Russia?")
    assert not a.abstained
    assert a.date == "2016-04-20"
    assert a.answer_type == "when"
    assert "reopen" in (a.text or "")
    assert format_answer(a).startswith("**2016-04-20**")
    assert any("euronews.com" in (s.url or "") for s in a.sources)


@pytest.mark.parametrize(
    "question",
    [
        "What is the recipe for a chocolate souffle?",
        "How many goals did Lionel Messi score in 2012?",
        "Which programming language has a borrow checker?",
    ],
)
def test_unrelated_questions_abstain_with_nearest_sources(default_qa: QA, question: str) -> None:
    """Questions the corpus cannot answer get 'not in the corpus' and the nearest sources."""
    a = default_qa.answer(question)
    assert a.abstained and a.text is None
    assert a.confidence < default_qa.threshold
    assert a.sources
    assert format_answer(a).startswith("I couldn't find that in the corpus.")


def test_answers_from_the_test_corpus(mixed: QA) -> None:
    """Facts from each format of the test corpus are quoted with their own documents."""
    a = mixed.answer("How many people can the Lindholm school shelters host?", asked_at=ASKED)
    assert "600 people" in (a.text or "")
    assert a.sources[0].doc_id.endswith("index.md#heavy-rain-floods-40-farms-in-orchard-valley")
    assert a.date == "2023-10-02"
    b = mixed.answer("Who won the Lakeside Marathon?", asked_at=ASKED)
    assert "Tomas Eklund" in (b.text or "")
    assert b.span is not None and "Tomas Eklund" in (b.text or "")[b.span[0] : b.span[1]]


def test_syndicated_copies_collapse_into_one_answer(mixed: QA) -> None:
    """Two documents carrying the same story give one answer listing both sources."""
    a = mixed.answer("How did the Harwick council vote on leaf blowers?", asked_at=ASKED)
    assert "7 to 2" in (a.text or "")
    assert {s.doc_id for s in a.sources} >= {"wire-1", "paper-2"}
    urls = [s.url for s in a.sources]
    assert len(urls) == len(set(urls))


def test_period_in_question_filters_by_date(mixed: QA) -> None:
    """'this week' resolves against the asking time; documents outside it are left out."""
    q = "Which ferry was ordered this week?"
    recent = mixed.answer(q, asked_at=datetime(2021, 3, 4, tzinfo=UTC))
    assert "Skarvik Star" in (recent.text or "")
    later = mixed.answer(q, asked_at=ASKED)
    assert all(p.doc_id != "old-ferry" for p in later.passages)
    explicit = mixed.answer("What did the Harwick council ban in September 2023?")
    assert {p.doc_id for p in explicit.passages} & {"wire-1", "paper-2"}
    assert "old-ferry" not in {p.doc_id for p in explicit.passages}


def test_documents_after_the_question_are_ignored(mixed: QA) -> None:
    """A document dated after the asking time cannot answer it."""
    a = mixed.answer("How did the Harwick council vote on leaf blowers?",
                     asked_at=datetime(2023, 9, 1, tzinfo=UTC))  # fmt: skip
    assert not {"wire-1", "paper-2"} & {p.doc_id for p in a.passages}


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("🙂🎉🔥", "in words"),
        ("why " * 200, "characters"),
        ("Who?", "names nothing"),
        ("How many?", "names nothing"),
        ("why, when?", "names nothing"),
    ],
)
def test_bad_questions_get_a_clear_message(default_qa: QA, question: str, message: str) -> None:
    """Empty, blank, emoji-only and very long questions raise BadQuestionError with a message."""
    with pytest.raises(BadQuestionError, match=message):
        default_qa.answer(question)


def test_batch_ask_writes_one_json_object_per_question(
    tmp_path: Path, default_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask --questions FILE --json` answers each line in the documented shape."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "When did NATO reopen talks with Russia?",
                    "date": "2016-04-21", "answers": ["x"]}) + "\n"
        + json.dumps({"id": "b", "question": "What is the boiling point of tungsten?"}) + "\n"
        + json.dumps({"id": "c", "question": "  "}) + "\n"
    )  # fmt: skip
    out = io.StringIO()
    code = main(
        ["--env-file", "/nonexistent", "ask", "--questions", str(questions), "--json"], out=out
    )
    assert code == 1  # the blank question failed
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    first = rows[0]
    assert set(first) >= {"id", "question", "answer", "confidence", "sources", "passages"}
    assert first["answer"] and first["sources"][0]["date"] == "2016-04-20"
    assert set(first["sources"][0]) == {"doc_id", "title", "date", "url"}
    assert set(first["passages"][0]) == {"doc_id", "chunk_id", "score"}
    scores = [p["score"] for p in first["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert rows[1]["answer"] is None
    assert rows[2]["answer"] is None and "empty" in rows[2]["error"]


def test_eval_reports_metrics(
    tmp_path: Path, default_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eval` scores hit rate and recall on a questions file and can draw the curve."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    questions = tmp_path / "questions-dev.jsonl"
    questions.write_text(
        json.dumps({"id": 1, "question": "Who chaired the NATO-Russia Council talks?",
                    "answers": ["Stoltenberg"], "doc_id": "003_8b785c81000277d8.txt"}) + "\n"
        + json.dumps({"id": 2, "question": "When did NATO reopen talks with Russia?",
                      "answers": ["no such words anywhere"], "doc_id": "000_a226b7d7bdfc010b.txt"})
        + "\n"
    )  # fmt: skip
    out = io.StringIO()
    plot = tmp_path / "curve.png"
    argv = ["--env-file", "/nonexistent", "eval", "--questions", str(questions), "--json",
            "--plot", str(plot)]  # fmt: skip
    assert main(argv, out=out) == 0
    result = json.loads(out.getvalue().splitlines()[0])[tmp_path.name]
    assert result["questions"] == 2
    assert result["hit_rate"] == 0.5
    assert result["recall@10"] == 1.0
    assert plot.stat().st_size > 1000


def test_related_items_are_answered_from_their_own_date(default_qa: QA) -> None:
    """A headline that only sits in an event page's Related list is answered, linked to the
    Portal page of its day; asked before that day, it is not known yet."""
    question = "How many British Army troops arrived in Estonia?"
    later = default_qa.answer(question, asked_at=datetime(2017, 3, 20, tzinfo=UTC))
    assert not later.abstained and later.text
    assert later.text.startswith("Eight hundred British Army troops arrive in Estonia")
    assert later.date == "2017-03-18"
    assert (
        later.sources[0].url == "https://en.wikipedia.org/wiki/Portal:Current_events/2017_March_18"
    )
    before = default_qa.answer(question, asked_at=datetime(2016, 4, 21, tzinfo=UTC))
    assert "Eight hundred" not in (before.text or "")
    assert all(s.date is None or s.date <= "2016-04-21" for s in before.sources)


def test_json_answer_carries_the_span(
    default_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask --json` gives the bold span: the name asked for, not the other name quoted."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    out = io.StringIO()
    code = main(
        ["--env-file", "/nonexistent", "ask", "Who is Moscow's envoy to NATO?", "--json"],
        out=out,
    )
    assert code == 0
    row = json.loads(out.getvalue())
    assert "Stoltenberg" in row["answer"] and row["span"] == "Alexander Grushko"


@pytest.fixture(scope="session")
def toll(qa_of: QaOf) -> QA:
    """Three days of reports of one fire."""
    rows = [
        {"id": "fire-1", "title": "Fire at the Oskarvik temple", "date": "2023-06-10",
         "url": "https://news.example/fire-1",
         "text": "The latest death toll from the fire at the Oskarvik temple is 12, "
                 "the festival organisers say."},
        {"id": "fire-2", "title": "Oskarvik temple fire toll rises", "date": "2023-06-11",
         "url": "https://news.example/fire-2",
         "text": "The death toll from the Oskarvik temple fire rises to 19, police say."},
        {"id": "fire-3", "title": "Saturday's blaze", "date": "2023-06-13",
         "url": "https://news.example/fire-3",
         "text": "The death toll from Saturday's blaze has risen to at least 31, with 4 missing. "
                 "Police in Oskarvik say fireworks stored at the temple caught fire."},
    ]  # fmt: skip
    return qa_of(rows)


def test_latest_toll_follows_the_asking_day(toll: QA) -> None:
    """Asked for the latest toll, the newest report up to the asking day is quoted, and its
    own source is listed first."""
    question = "What's the latest death toll from the Oskarvik temple fire?"
    for day, count, doc in ((10, "12", "fire-1"), (11, "19", "fire-2")):
        a = toll.answer(question, asked_at=datetime(2023, 6, day, 18, tzinfo=UTC))
        assert not a.abstained and a.text and count in a.text, (day, a.text)
        assert a.sources[0].doc_id == doc and a.date == f"2023-06-{day}"


def test_a_count_asked_plainly_is_the_newest_report(toll: QA) -> None:
    """Asked "how many died", "what is the death toll" or "... death toll" without
    "latest", the newest report up to the asking day still wins, even one that names the
    place a sentence after its count; the count is the bold span."""
    for question, day, count in (
        ("How many people died in the Oskarvik temple fire?", 13, "31"),
        ("What is the death toll of the Oskarvik temple fire?", 13, "31"),
        ("How many people died in the Oskarvik temple fire?", 12, "19"),
        ("oskarvik temple fire death toll", 13, "31"),  # a keyword question
    ):
        a = toll.answer(question, asked_at=datetime(2023, 6, day, 18, tzinfo=UTC))
        assert not a.abstained and a.text and count in a.text, (question, day, a.text)
        assert a.span and count in a.text[a.span[0] : a.span[1]], (question, a.span)


def test_chat_spellings_of_question_words_are_read_as_the_words(toll: QA) -> None:
    """ "hw many died ...", "wat happend at ..." are answered as "how many died ...",
    "what happened at ...": the newest toll bolded, the newest story quoted; the answer
    keeps the question as it was typed."""
    when = datetime(2023, 6, 13, 18, tzinfo=UTC)
    a = toll.answer("hw many people died in the oskarvik temple fire", asked_at=when)
    assert not a.abstained and a.text and a.span, a.text
    assert "31" in a.text[a.span[0] : a.span[1]], a.text
    assert a.question == "hw many people died in the oskarvik temple fire"
    a = toll.answer("wat happend at the oskarvik temple", asked_at=when)
    assert not a.abstained and a.sources[0].doc_id == "fire-3", a.text


def test_the_news_on_a_subject_is_its_newest_story(toll: QA) -> None:
    """ "What happened at X?" quotes the newest story up to the asking day whose passage
    names X, and still abstains on a subject the corpus never names."""
    for day, doc in ((11, "fire-2"), (13, "fire-3")):
        a = toll.answer("What happened at the Oskarvik temple?",
                        asked_at=datetime(2023, 6, day, 18, tzinfo=UTC))  # fmt: skip
        assert not a.abstained and a.sources[0].doc_id == doc, (day, a.text)
    a = toll.answer("What happened in Narnia?", asked_at=datetime(2023, 6, 13, tzinfo=UTC))
    assert a.abstained


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What happened in Ecuador?", "Ecuador"),
        ("what's the latest on the Panama Papers", "the Panama Papers"),
        ("Any news about Zika?", "Zika"),
        ("what happened between nato and russia?", "nato and russia"),
        ("What's the latest death toll from the Puttingal temple fire?", None),
        ("What happened to his ribs in the accident?", None),
        ("What new product did Bank of America introduce in 1958?", None),
    ],
)
def test_summary_subject(question: str, subject: str | None) -> None:
    """Only a question that asks for the news on a short subject reads as one."""
    assert summary_subject(question) == subject


@pytest.mark.parametrize(
    ("question", "speaker"),
    [
        ("What did Stoltenberg say?", "Stoltenberg"),
        ("what has Jens Stoltenberg said", "Jens Stoltenberg"),
        ("What did Stoltenberg say about Russia?", None),
        ("What did the study say was the cause?", None),
    ],
)
def test_speaker_asked(question: str, speaker: str | None) -> None:
    """Only a question for someone's words, with nothing after "say", reads as one."""
    assert speaker_asked(question) == speaker


def test_what_someone_said_is_their_newest_statement(qa_of: QaOf) -> None:
    """ "What did Solvik say?" quotes the newest story in which Solvik speaks, up to the
    asking day; asked of someone the stories name but never quote, it abstains."""
    rows = [
        {"id": "plan", "title": "Stadium plans", "date": "2023-05-02",
         "url": "https://news.example/plan",
         "text": "The architect Maren Solvik said the Orlen stadium would open in May. "
                 "The builder, Tomas Brede, has hired 200 workers."},
        {"id": "open", "title": "Stadium opens", "date": "2023-05-20",
         "url": "https://news.example/open",
         "text": "The Orlen stadium opened on Saturday. \"It is the best day of my life,\" "
                 "Solvik told reporters at the gate."},
    ]  # fmt: skip
    qa = qa_of(rows)
    for day, doc, words in ((10, "plan", "would open in May"), (21, "open", "best day")):
        a = qa.answer("What did Solvik say?", asked_at=datetime(2023, 5, day, tzinfo=UTC))
        assert not a.abstained and a.text and words in a.text, (day, a.text)
        assert a.sources[0].doc_id == doc
    a = qa.answer("What has Tomas Brede said?", asked_at=datetime(2023, 5, 21, tzinfo=UTC))
    assert a.abstained


def test_a_subheading_is_never_glued_to_the_quote(default_qa: QA) -> None:
    """Article 004's subheading "Russia 'against arms race'" stays out of the quote of the
    paragraph below it."""
    a = default_qa.answer("Who is Russia's Deputy Defense Minister?", asked_at=ASKED)
    assert a.text and "Anatoly Antonov" in a.text
    assert "against arms race'" not in a.text and "\n" not in a.text


def test_a_year_without_stories_never_opens_the_future(default_qa: QA) -> None:
    """A year that holds no story widens the search, but never past the asking day: the
    Related events of 2016-2017 stay out of an answer asked on 2016-04-21."""
    asked = datetime(2016, 4, 21, tzinfo=UTC)
    a = default_qa.answer("Where did Russia deploy missiles in 2015?", asked_at=asked)
    assert a.passages
    dates = [s.date for s in a.sources if s.date]
    assert dates and all(d <= "2016-04-21" for d in dates)
    assert not any(p.doc_id.startswith("news/2017/") for p in a.passages)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who is Poland's foreign minister?", "Waszczykowski"),
        ("Where will Russia deploy its new missile defense systems?", "Kuril Islands"),
    ],
)
def test_an_archive_asked_years_later_quotes_the_story_that_answers(
    default_qa: QA, question: str, answer: str
) -> None:
    """Asked today, as the bot asks the bundled 2016-2017 corpus, the older story that
    answers wins over the newest story on the same subject (which does not answer)."""
    a = default_qa.answer(question, asked_at=datetime(2026, 11, 30, tzinfo=UTC))
    assert not a.abstained and a.span is not None, a.text
    assert answer in (a.text or "")[a.span[0] : a.span[1]], a.text


def test_benchmarks_score_the_quote_replies_give(default_qa: QA, toll: QA) -> None:
    """`engine.chosen` and `quote`, which bench/train_ranker.py scores, give exactly the
    text of the answer, on the default corpus's questions and on a running toll (where a
    newer report replaces the best-scored sentence), the reader's scores included."""
    from retrieval.answer.batch import read_questions
    from retrieval.answer.engine import chosen, quote

    asked = [
        (default_qa, q.question, None)
        for q in read_questions(REPO / "tests" / "data" / "questions" / "default-corpus.jsonl")
    ]
    asked.append((toll, "How many people died in the Oskarvik temple fire?",
                  datetime(2023, 6, 13, 18, tzinfo=UTC)))  # fmt: skip
    compared = read_too = 0
    for qa, question, when in asked:
        a = qa.answer(question, asked_at=when, explain=True)
        if a.abstained:
            continue
        t = a.trace
        assert t is not None
        best, partner = chosen(
            t.info, t.candidates, t.scores, qa.ranker.neighbour_margin, qa.retriever.lexical,
            t.ranked,
        )  # fmt: skip
        assert quote(best, partner)[0] == a.text, question
        compared += 1
        read_too += t.ranked is not None
    assert compared >= 20 and read_too == compared  # the reader read for each


def _stadium(qa_of: QaOf, reports: list[str]) -> QA:
    """A corpus of the given reports on who designed a stadium, one document each."""
    rows = [
        {"id": f"report-{n}", "title": f"The Orlen stadium ({n})", "date": "2023-05-02",
         "url": f"https://news{n}.example/orlen", "text": text}
        for n, text in enumerate(reports)
    ]  # fmt: skip
    return qa_of(rows)


def _second(qa: QA, question: str) -> float | None:
    g = gather(qa.retriever, question)
    features = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    scores = qa.ranker.scores(features)
    best = g.candidates[int(np.argmax(scores))]
    return second_source(
        g.info, g.candidates, scores, features, best, qa.ranker, qa.retriever.lexical
    )


def test_an_agreeing_independent_source_raises_confidence(qa_of: QaOf) -> None:
    """A second document that reports the same name in its own words raises the answer's
    confidence; a copy of the same text or a report naming someone else does not count."""
    first = "The new Orlen stadium was designed by the architect Maren Solvik, the city said."
    agreeing = "Maren Solvik, whose firm won the 2019 competition, drew up Orlen's new arena."
    other = "The builder says the new Orlen stadium was designed by the architect Tomas Brede."
    question = "Who designed the new Orlen stadium?"
    alone = _stadium(qa_of, [first])
    both = _stadium(qa_of, [first, agreeing])
    copied = _stadium(qa_of, [first, first])
    rival = _stadium(qa_of, [first, other])
    for qa in (alone, both, copied):
        assert qa.answer(question).text == first
    assert _second(alone, question) is None
    assert _second(copied, question) is None
    assert _second(rival, question) is None
    # The copy is set aside for the confidence: it does not split the margin as a rival.
    g = gather(copied.retriever, question)
    features = featurize(g.info, g.qvec, copied.retriever.lexical, g.candidates)
    scores = copied.ranker.scores(features)
    assert len(distinct(g.candidates, scores)) == len(g.candidates) - 1
    top = g.candidates[int(np.argmax(scores))]
    lone = copied.ranker.confidence(
        scores, features, presence(g.info, top, copied.retriever.lexical)
    )
    assert copied.answer(question).confidence > lone
    second = _second(both, question)
    assert second is not None and second >= both.threshold
    # Both reports wrong together is less likely than one: the doubt shrinks by the share
    # the second report alone would leave.
    g = gather(both.retriever, question)
    features = featurize(g.info, g.qvec, both.retriever.lexical, g.candidates)
    own = answer_confidence(
        both.ranker, g.info, both.retriever.lexical, g.candidates, both.ranker.scores(features),
        features,
    )  # fmt: skip
    b = both.answer(question).confidence
    assert 1 - b == pytest.approx((1 - own) * (1 - second)), (own, b, second)
    assert b > alone.answer(question).confidence


def test_a_count_beside_the_best_sentence_of_the_same_day(qa_of: QaOf) -> None:
    """When the sentence the ranker puts first does not count what a running-count
    question asks (people in shelters, for "how many died"), a sentence of the same day's
    report that does takes over; a question that asks for what the first one counts keeps
    it."""
    text = (
        "The latest on the Velmar earthquake: the number of people in shelters after the "
        "two earthquakes has doubled to more than 18,000. A bridge over the Lema river "
        "collapsed in the night. A second quake hits Velmar, killing at least 32 people."
    )
    row = {"id": "quake-1", "title": "Velmar earthquake", "date": "2023-06-10",
           "url": "https://news.example/quake-1", "text": text}  # fmt: skip
    qa = qa_of([row])
    asked = datetime(2023, 6, 12, tzinfo=UTC)
    for question, wanted in (
        ("How many people died in the Velmar earthquake?", "killing at least 32"),
        ("How many people are in shelters after the Velmar earthquake?", None),
    ):
        g = gather(qa.retriever, question, asked_at=asked)
        shelters = next(i for i, c in enumerate(g.candidates) if "shelters" in c.text)
        scores = np.zeros(len(g.candidates))
        scores[shelters] = 1.0  # the ranker's first choice
        took = newest_report(g.info, g.candidates, scores, shelters, qa.retriever.lexical)
        if wanted is None:
            assert took is None, g.candidates[took].text
        else:
            assert took is not None and wanted in g.candidates[took].text


def test_when_an_event_happened_is_its_first_report(toll: QA) -> None:
    """Asked when an event happened, the first report of the story dates it, also where
    the ranker puts a later report (of its toll) first; a question about a schedule
    ("when will") keeps the ranker's choice."""
    asked = datetime(2023, 6, 13, 18, tzinfo=UTC)
    for question, wanted in (
        ("When did the Oskarvik temple fire happen?", "2023-06-10"),
        ("When will the Oskarvik temple reopen after the fire?", None),
    ):
        g = gather(toll.retriever, question, asked_at=asked)
        later = next(i for i, c in enumerate(g.candidates) if c.hit.date == "2023-06-13")
        scores = np.zeros(len(g.candidates))
        scores[later] = 1.0  # the ranker's first choice
        took = first_report(g.info, g.candidates, scores, later, toll.retriever.lexical)
        if wanted is None:
            assert took is None
        else:
            assert took is not None and g.candidates[took].hit.date == wanted
        a = toll.answer(question, asked_at=asked)
        assert wanted is None or a.date == wanted


_CRASH = (
    "A small passenger plane crashed into a field near Harwick on Monday, killing all six "
    "people on board. Police said the wreckage was found by a farmer. Investigators are "
    "trying to establish the cause of the crash."
)
_OPERATOR = (
    "The passenger plane that crashed near Harwick was operated by the regional airline "
    "Nordvik Air, which grounded its fleet on Tuesday."
)
_STORY_ONLY = ["crash", "ferry", "budget"]  # every document but the operator's


@pytest.fixture(scope="module")
def crash(qa_of: QaOf) -> QA:
    """A crash story, a later report naming the airline that operated the plane, and two
    unrelated stories."""
    rows = [
        {"id": "crash", "title": "Plane crash near Harwick", "date": "2023-09-12", "text": _CRASH},
        {"id": "operator", "title": "Nordvik Air grounds its fleet", "date": "2023-09-13",
         "text": _OPERATOR},
        {"id": "ferry", "title": "Ferry service resumes", "date": "2023-09-10",
         "text": "The Holm company's ferry resumed service to the islands on Sunday after a "
                 "storm. Passengers said the crossing was calm."},
        {"id": "budget", "title": "Council budget", "date": "2023-09-11",
         "text": "The Harwick council approved a budget of 12 million euros for new roads and "
                 "a school. The mayor said the vote was close."},
    ]  # fmt: skip
    return qa_of(rows)


def _top_presence(qa: QA, question: str, docs: list[str] | None) -> tuple[str, list[float]]:
    """The top-scored sentence and what `presence` says of it, searching ``docs`` only."""
    allowed = None
    if docs is not None:
        allowed = np.isin([c.doc_id for c in qa.retriever.index.chunks], docs)
    g = gather(qa.retriever, question, allowed=allowed)
    scores = qa.ranker.scores(featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates))
    top = g.candidates[int(np.argmax(scores))]
    return top.text, presence(g.info, top, qa.retriever.lexical).tolist()


def test_presence_flags_what_the_sentence_lacks(crash: QA) -> None:
    """The crash story lacks the airline asked about and the question's rarest term
    ("operated"); the operator's report has both; a count's noun and the question word
    ("who", in no document here) never count as missing."""
    which = "Which airline operated the plane that crashed?"
    assert _top_presence(crash, which, _STORY_ONLY) == (_CRASH.split(". ")[0] + ".", [1.0, 1.0])
    assert _top_presence(crash, which, None) == (_OPERATOR, [0.0, 0.0])
    text, (head, _) = _top_presence(crash, "How many people were on the plane?", _STORY_ONLY)
    assert "six people" in text and head == 0.0
    assert _top_presence(crash, "Who operated the plane that crashed?", None)[1] == [0.0, 0.0]


def test_a_story_without_the_detail_asked_is_less_sure(crash: QA) -> None:
    """Asked who operated the plane, the corpus with the operator's report answers with the
    airline; without that report it still holds the crash story, whose sentence lacks the
    question's rarest term, and the confidence of quoting it is lowered by exactly what the
    calibration learnt for that (its weight is negative: a miss, not a paraphrase)."""
    question = "Who operated the plane that crashed?"
    full = crash.answer(question)
    assert not full.abstained and "Nordvik Air" in (full.text or "")
    story = crash.answer(question, only_docs=_STORY_ONLY)
    assert "Nordvik" not in (story.text or "")
    allowed = np.isin([c.doc_id for c in crash.retriever.index.chunks], _STORY_ONLY)
    g = gather(crash.retriever, question, allowed=allowed)
    features = featurize(g.info, g.qvec, crash.retriever.lexical, g.candidates)
    scores = crash.ranker.scores(features)
    keep = distinct(g.candidates, scores)
    missing = presence(g.info, g.candidates[int(np.argmax(scores))], crash.retriever.lexical)
    assert missing.tolist() == [0.0, 1.0]
    weight = crash.ranker.calibration[CALIBRATION_INPUTS.index("rarest_missing")]
    assert weight < 0
    assert story.confidence == pytest.approx(
        crash.ranker.confidence(scores[keep], features[keep], missing)
    )
    present = crash.ranker.confidence(scores[keep], features[keep], np.zeros(2))
    assert story.confidence < present < full.confidence


_ALBUM = (
    "Singer Mara Vell releases Tidewater, the best selling album of 2016. Her label "
    "signed a $40 million deal with a streaming service."
)
_SALES = "Mara Vell's Tidewater sold 653,000 copies in its first week, her label said."


def test_a_how_many_quote_without_a_count_is_no_answer(qa_of: QaOf) -> None:
    """Asked how many copies an album sold, the corpus with the sales report answers with
    the figure; without it the album story is on the subject but gives no count (a year
    and a sum of money are none), so the engine abstains and says why when explaining; the
    same story still answers a question it has the words for."""
    rows = [
        {"id": "album", "title": "Mara Vell releases Tidewater", "date": "2016-04-23",
         "url": "https://news.example/album", "text": _ALBUM},
        {"id": "sales", "title": "Tidewater tops the chart", "date": "2016-05-02",
         "url": "https://news.example/sales", "text": _SALES},
        {"id": "ferry", "title": "Ferry service resumes", "date": "2016-04-20",
         "text": "The Holm company's ferry resumed service to the islands on Sunday after a "
                 "storm. Passengers said the crossing was calm."},
    ]  # fmt: skip
    qa = qa_of(rows)
    question = "How many copies did Mara Vell's Tidewater sell in its first week?"
    full = qa.answer(question)
    assert not full.abstained and "653,000" in (full.text or "")
    story = qa.answer(question, only_docs=["album", "ferry"], explain=True)
    assert story.abstained and story.text is None
    assert story.trace is not None and story.trace.note == NO_COUNT
    assert story.sources and story.sources[0].url == "https://news.example/album"
    kept = qa.answer("How many million dollars is Mara Vell's label deal worth?",
                     only_docs=["album", "ferry"])  # fmt: skip
    assert not kept.abstained and "$40 million" in (kept.text or "")


@pytest.mark.parametrize(
    ("question", "text", "counted"),
    [
        ("How many copies did Lemonade sell?", "The best selling album of 2016, Lemonade.", False),
        ("How many submarines will DCNS build?", "DCNS wins a $50 billion contract.", False),
        ("How many submarines will DCNS build?", "The deal is worth 50 billion euros.", False),
        ("How many people died?", "The quake struck on April 16, 2016.", False),
        ("How many people died?", "The quake killed 272 people on April 16, 2016.", True),
        ("How many guests attended the dinner?", "The dinner was attended by 2000 guests.", True),
        ("How many Victorians are Catholic?", "Catholics make up 26.7% of Victorians.", True),
        ("How many types of fiction did he shape?", "He shaped several types of fiction.", True),
        ("How many times a year does the council meet?", "The council meets twice a year.", True),
        ("How many dollars did the deal cost?", "The deal cost $50 billion.", True),
        ("How much did the deal cost?", "The deal was signed in 2016.", True),  # not "how many"
    ],
)  # fmt: skip
def test_holds_count(question: str, text: str, counted: bool) -> None:
    assert holds_count(question, text) is counted
