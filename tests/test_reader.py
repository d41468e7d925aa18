"""The reader: the shipped weights, exported to ONNX, point at the answer in a sentence;
the graph scores as the torch model it came from; a bad weights file or setting is one line;
read over a question's best sentences, it lifts the one that holds an answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.engine import READ_TOP, gather, read
from retrieval.answer.features import featurize
from retrieval.answer.qa import QA
from retrieval.answer.question import analyse
from retrieval.answer.reader import READER_PATH, Reader, candidate_tokens, load_reader, read_weights
from retrieval.answer.span import (
    answer_span,
    candidate_spans,
    shipped_scorer,
    span_phrases,
    whole_name_end,
)
from retrieval.encoder.base import resolve_model
from retrieval.errors import ConfigError
from retrieval.settings import DEFAULT_MODEL, Settings, load_settings
from tests.conftest import MODEL_CACHE


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load(DEFAULT_MODEL, MODEL_CACHE)


# Sentences of the news sample (none is a benchmark sentence the reader was fitted on)
# whose answer the span scorer alone misses: it marks "featuring electronic music acts",
# "British rock", "St. Louis, Missouri" and "San Juan".
FOUND_BY_THE_READER = [
    ("At which festival in Buenos Aires did five people die after taking ecstasy?",
     "Five people are dead and five are in hospital after taking ecstasy at an Argentine "
     "version of the Time Warp Festival featuring electronic music acts.", "Time Warp"),
    ("Which band played a free concert in Havana?",
     "British rock band The Rolling Stones performs in Havana, Cuba, playing an open-air "
     "free concert in the country, in what has been called a \"historic moment.\"",
     "Rolling Stones"),
    ("Which coal company filed for bankruptcy?",
     "Peabody Energy, the largest privately-owned producer of coal in the world "
     "headquartered in St. Louis, Missouri, files for bankruptcy court protection due to "
     "high debts and a drop in world prices.", "Peabody"),
    ("Which two MLB teams have players worried about Zika before their games in Puerto Rico?",
     "Some Miami Marlins and Pittsburgh Pirates baseball players, who are scheduled to play a "
     "two-game series the end of May in San Juan, Puerto Rico, to honor Pirates Hall of "
     "Famer Roberto Clemente, are concerned about being exposed to the Zika virus.",
     "Pittsburgh Pirates|Miami Marlins"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "sentence", "answer"), FOUND_BY_THE_READER)
def test_with_the_reader_the_bold_span_is_the_answer(
    reader: Reader, question: str, sentence: str, answer: str
) -> None:
    found = answer_span(analyse(question), sentence, reader=reader)
    assert found is not None
    bold = sentence[found[0] : found[1]]
    assert any(a in bold and len(bold) <= len(a) + 25 for a in answer.split("|")), bold


def test_the_onnx_reader_scores_as_the_torch_model(reader: Reader) -> None:
    """The exported, quantised graph ranks a sentence's candidates as the fine-tuned torch
    model does: scores correlate, and the torch model's best candidate is among the
    graph's best three (int8 weights may swap two close ones)."""
    import torch

    from retrieval.encoder.onnx_export import reader_model

    model = reader_model(Path(resolve_model(DEFAULT_MODEL)), read_weights(READER_PATH))
    verbs = shipped_scorer().verbs
    for question, sentence, _ in FOUND_BY_THE_READER:
        found = span_phrases(analyse(question), sentence, verbs)
        spans = [found.span(k) for k in range(len(found.rows))]
        onnx = reader.scores(question, sentence, spans)
        e = reader.tokenizer.encode(question, sentence)
        feed = [torch.tensor([e.ids]), torch.ones(1, len(e.ids), dtype=torch.long),
                torch.tensor([e.type_ids])]  # fmt: skip
        with torch.no_grad():
            logits = model(*feed)[0].numpy()
        starts, ends = candidate_tokens(e, spans)
        exact = logits[starts, 0] + logits[ends, 1]
        assert np.corrcoef(onnx, exact)[0, 1] > 0.95
        assert np.argmax(exact) in np.argsort(-onnx)[:3]


def test_a_span_cut_off_by_the_window_points_at_no_word(reader: Reader) -> None:
    sentence = "word " * 400 + "Time Warp"
    e = reader.tokenizer.encode("Which festival?", sentence)
    assert len(e.ids) == 256
    starts, ends = candidate_tokens(e, [(0, 4), (len(sentence) - 9, len(sentence))])
    assert starts[0] > 0 and ends[0] == starts[0]
    assert starts[1] == 0 and ends[1] == 0


def test_a_bad_weights_file_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "reader.npz"
    bad.write_bytes(b"not an npz file")
    with pytest.raises(ConfigError, match="cannot read the reader weights") as exc:
        Reader.load(DEFAULT_MODEL, tmp_path / "cache", bad)
    assert "\n" not in str(exc.value)
    np.savez(bad, meta=np.array('{"format": 1}'))  # no head
    with pytest.raises(ConfigError, match="not a reader weights file"):
        read_weights(bad)


def test_the_reader_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    off = replace(Settings(), reader="off", model_cache=MODEL_CACHE)
    assert load_reader(off) is None
    assert load_reader(replace(off, reader="on")) is not None
    assert load_reader(replace(off, reader="on", model="some/other-model")) is None
    monkeypatch.setenv("NEWSQA_READER", "maybe")
    with pytest.raises(ConfigError, match="NEWSQA_READER"):
        load_settings()


def test_a_name_is_not_cut_after_its_first_word() -> None:
    sentence = "A hijacked Ostravia Air flight lands in Larnaca. All hostages are freed."
    after = sentence.index("Ostravia") + len("Ostravia")
    assert sentence[: whole_name_end(sentence, after)].endswith("Ostravia Air")
    larnaca = sentence.index("Larnaca") + len("Larnaca")
    assert whole_name_end(sentence, larnaca) == larnaca  # the sentence ends there
    flight = sentence.index("flight") + len("flight")
    assert whole_name_end(sentence, flight) == flight


def test_the_best_candidate_of_each_sentence(reader: Reader) -> None:
    """`Reader.best` gives each sentence its best candidate's score; of three sentences,
    the one that answers the question scores best; one without candidates, -inf."""
    question, answer_sentence, _ = FOUND_BY_THE_READER[1]
    info = analyse(question)
    sentences = [FOUND_BY_THE_READER[2][1], answer_sentence, FOUND_BY_THE_READER[0][1]]
    pairs = [(s, candidate_spans(info, s)) for s in sentences]
    best = reader.best(question, pairs)
    assert list(best) == [float(reader.scores(question, s, spans).max()) for s, spans in pairs]
    assert int(np.argmax(best)) == 1
    assert reader.best(question, [("Havana.", []), *pairs[1:2]])[0] == -np.inf
    assert len(reader.best(question, [])) == 0


# A question, a sentence of the same story that does not answer it but offers a phrase of
# the kind asked, and the sentence that answers (the first from the default corpus, where a
# reader fitted on answer sentences alone scored the summit's city higher).
ON_THE_STORY_BUT_NOT_ANSWERING = [
    ("In which city is NATO headquarters, where the council meets?",
     "NATO members gather in Warsaw, Poland, for a two-day summit.",
     "NATO announces it will hold a meeting of the NATO-Russia Council at the ambassadorial "
     "level at NATO headquarters in Brussels in the next two weeks."),
    ("Where did the hijacked EgyptAir plane land?",
     "The flight had left Alexandria for Cairo on Tuesday morning.",
     "A hijacked EgyptAir flight lands in Cyprus."),
    ("Who is Moscow's envoy to NATO?",
     "Russian Defence Minister Sergey Shoygu also says that Russia will form new defence units.",
     "Jens Stoltenberg will chair the talks with the alliance's 28 ambassadors and Moscow's "
     "envoy to NATO, Alexander Grushko."),
    ("How many people died in the Kiunga plane crash?",
     "The Britten-Norman Islander had been flying from Daru with 11 passengers and a pilot.",
     "A light aircraft crashes in the Papua New Guinea town of Kiunga resulting in the deaths "
     "of all twelve people on board."),
]  # fmt: skip


@pytest.mark.parametrize(("question", "other", "answering"), ON_THE_STORY_BUT_NOT_ANSWERING)
def test_a_sentence_that_does_not_say_what_was_asked_scores_lower(
    reader: Reader, question: str, other: str, answering: str
) -> None:
    """Fitted with sentences of the story that do not answer, the reader's best candidate
    of such a sentence scores below that of the sentence that answers, though it holds a
    phrase of the kind asked (a city, a name, a number)."""
    info = analyse(question)
    best = reader.best(question, [(s, candidate_spans(info, s)) for s in (other, answering)])
    assert best[1] > best[0], best


def test_reading_lifts_the_best_read_sentence_and_keeps_the_rest_below(
    default_index: Settings, model: object
) -> None:
    """`engine.read` adds the reader's best-candidate score to the ranker's best
    READ_TOP sentences (copies of one text alike) and the least of those to every other
    sentence: the sentences read stay the best-scored, and among them the reader's
    favourite gains most."""
    qa = QA.open(default_index, encoder=model)  # type: ignore[arg-type]
    assert qa.reader is not None
    g = gather(qa.retriever, "Who is Moscow's envoy to NATO?")
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    scores = qa.ranker.scores(x)
    added = read(g.info, g.candidates, scores, qa.reader, 1.0) - scores
    texts: list[str] = []
    for i in np.argsort(-scores, kind="stable"):
        if g.candidates[i].text not in texts:
            texts.append(g.candidates[i].text)
    read_texts = texts[:READ_TOP]
    assert len(texts) > READ_TOP
    was_read = np.array([c.text in read_texts for c in g.candidates])
    assert np.allclose(added[~was_read], added[was_read].min())
    assert (scores + added)[was_read].min() >= (scores + added)[~was_read].max()
    alone = [qa.reader.best(g.info.text, [(t, candidate_spans(g.info, t))])[0] for t in read_texts]
    favourite = read_texts[int(np.argmax(alone))]
    assert max(added[i] for i, c in enumerate(g.candidates) if c.text == favourite) == added.max()
