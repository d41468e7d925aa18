"""Feature rows built by name, the ranker file's feature and calibration input names
checked on load, and calibration inputs that do not depend on the score scale."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.engine import gather
from retrieval.answer.features import (
    FEATURES,
    NEAR_COS,
    STALE_DAYS,
    featurize,
    freshness,
    presence,
)
from retrieval.answer.qa import QA
from retrieval.answer.ranker import (
    CALIBRATION_INPUTS,
    RANKER_PATH,
    Ranker,
    calibration_inputs,
)
from retrieval.errors import ConfigError
from retrieval.settings import Settings


@pytest.fixture(scope="module")
def qa(default_index: Settings, model) -> QA:  # type: ignore[no-untyped-def]
    return QA.open(default_index, encoder=model)


def test_feature_columns_carry_their_names(qa: QA) -> None:
    """Each named column holds what its name says, whatever its position in FEATURES."""
    g = gather(qa.retriever, "Who is Moscow's envoy to NATO?")
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    assert x.shape == (len(g.candidates), len(FEATURES))
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert (col["wh_who"] == 1).all() and (col["wh_when"] == 0).all()
    cos = np.stack([c.vector for c in g.candidates]) @ g.qvec
    assert np.allclose(col["s_cos"], cos, atol=1e-5)
    assert np.isclose(col["s_cos_gap"].max(), 0.0) and np.isclose(col["s_cos_rank"].max(), 1.0)
    grushko = [i for i, c in enumerate(g.candidates) if "Grushko" in c.text]
    assert grushko and col["who_caps"][grushko[0]] > 0


def _write(tmp_path: Path, names: list[str]) -> Path:
    data = json.loads(RANKER_PATH.read_text())
    data["features"] = names
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    return path


def test_ranker_file_with_other_feature_order_is_refused(tmp_path: Path) -> None:
    """Two swapped feature names are reported with the position where the order differs."""
    names = list(FEATURES)
    names[3], names[4] = names[4], names[3]
    with pytest.raises(ConfigError, match=r"order differs at position 3 \('c_rank_inv'"):
        Ranker.load(_write(tmp_path, names))


def test_ranker_file_with_missing_feature_is_refused(tmp_path: Path) -> None:
    """A file fitted without one of today's features names the missing one."""
    with pytest.raises(ConfigError, match="missing \\['novel_after'\\]"):
        Ranker.load(_write(tmp_path, list(FEATURES[:-1])))


def test_shipped_ranker_loads() -> None:
    """The committed ranker file matches today's features and calibration inputs, and
    holds as many networks as it says."""
    ranker = Ranker.load(RANKER_PATH)
    networks = json.loads(RANKER_PATH.read_text())["networks"]
    assert ranker.w1.shape[0] == networks > 1 and ranker.w1.shape[2] == len(FEATURES)
    assert len(ranker.calibration) == len(CALIBRATION_INPUTS) + 1


def test_the_ranker_has_a_fit_for_reading(tmp_path: Path) -> None:
    """The shipped file holds the reader's weight and the neighbour margin fitted with it
    (`Ranker.reading` switches to them; the confidence stays the same); saved and loaded
    again, they are the same; a broken one is refused in one line."""
    ranker = Ranker.load(RANKER_PATH)
    r = ranker.with_reader
    assert r is not None and r.weight > 0
    reading = ranker.reading()
    assert reading.reader_weight == r.weight and ranker.reader_weight == 0
    assert reading.neighbour_margin == r.neighbour_margin
    assert (reading.calibration, reading.threshold) == (ranker.calibration, ranker.threshold)
    assert reading.reading() is reading  # already switched
    path = tmp_path / "ranker.json"
    ranker.save(path)
    assert Ranker.load(path).with_reader == r
    data = json.loads(path.read_text())
    for broken in ({"weight": 1.0}, {"weight": "heavy", "neighbour_margin": 1.0}):
        path.write_text(json.dumps({**data, "with_reader": broken}))
        with pytest.raises(ConfigError, match="with_reader") as exc:
            Ranker.load(path)
        assert "\n" not in str(exc.value)


def test_ranker_scores_are_the_mean_of_its_networks(qa: QA) -> None:
    """Each network alone scores as a two-layer network does; the ranker gives their mean."""
    g = gather(qa.retriever, "Who is Moscow's envoy to NATO?")
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    r = qa.ranker
    alone = [
        np.maximum(((x - r.mean) / r.scale) @ r.w1[k].T + r.b1[k], 0) @ r.w2[k] + r.b2[k]
        for k in range(len(r.b2))
    ]
    assert not np.allclose(alone[0], alone[1], atol=1e-3)  # seeds differ
    assert np.allclose(r.scores(x), np.mean(alone, axis=0), atol=1e-4)


@pytest.mark.parametrize(
    "change",
    [
        {"networks": 4},  # fewer networks than the arrays hold
        {"b2": 0.5},  # one network's bias where five are expected
        {"w2": [[0.0]]},  # wrong hidden size
    ],
)
def test_ranker_file_with_inconsistent_networks_is_refused(tmp_path: Path, change: dict) -> None:  # type: ignore[type-arg]
    """Arrays whose shapes disagree with each other or with the network count are refused
    with a way out, not scored with broadcasting."""
    data = json.loads(RANKER_PATH.read_text())
    data.update(change)
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"does not hold .*networks.*train_ranker"):
        Ranker.load(path)


def test_answer_kind_and_term_position_columns(qa: QA) -> None:
    """head_match marks sentences naming the noun asked about, soft_overlap counts loose
    stems of the question's content words (its gap is 0 at the best), and term_density is 1
    where the question's matched terms stand side by side."""
    g = gather(qa.retriever, "Which country did the troops arrive in?")
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    texts = [c.text.lower() for c in g.candidates]
    # "country" (stem "count") in any form: "countries", "Country's"
    assert list(col["head_match"] == 1) == [re.search(r"\bcount", t) is not None for t in texts]
    assert (col["head_match"] == 1).any() and (col["head_match"] == 0).any()
    assert np.isclose(col["soft_overlap_gap"].max(), 0.0)
    assert (col["soft_overlap"] >= 0).all() and (col["soft_overlap"] <= 1).all()
    assert (col["quantity_number"] == 0).all()  # not a quantity question
    both = [i for i, t in enumerate(texts) if "troops arrive" in t]
    assert both and all(col["term_density"][i] == 1 for i in both)


def test_head_missing_counts_a_noun_not_a_function_word(qa: QA) -> None:
    """head_missing flags exactly the sentences whose window lacks the noun asked about
    ("which country": stem "count"), and never flags any sentence when the word after
    "what" is a function word ("What did ..."), which no sentence can contain."""
    lex = qa.retriever.lexical
    g = gather(qa.retriever, "Which country did the troops arrive in?")
    flags = [presence(g.info, c, lex)[0] for c in g.candidates]
    lacking = [re.search(r"\bcount", c.window.lower()) is None for c in g.candidates]
    assert [f == 1.0 for f in flags] == lacking
    assert any(lacking) and not all(lacking)
    g = gather(qa.retriever, "What did the troops do when they arrived?")
    assert g.candidates
    assert [presence(g.info, c, lex)[0] for c in g.candidates] == [0.0] * len(g.candidates)


def test_ranker_file_with_other_calibration_inputs_is_refused(tmp_path: Path) -> None:
    """A file calibrated on an older list of inputs is refused with a way out."""
    data = json.loads(RANKER_PATH.read_text())
    data["calibration_inputs"] = list(CALIBRATION_INPUTS[:-1])
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"calibrated on other inputs.*train_ranker"):
        Ranker.load(path)


def test_calibration_inputs_but_the_top_score_ignore_a_shift_of_all_scores(qa: QA) -> None:
    """Margin, the top sentence's softmax share and its match features stay the same when
    every score moves by one amount; the inputs follow CALIBRATION_INPUTS by name."""
    g = gather(qa.retriever, "Who is Moscow's envoy to NATO?")
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    scores = qa.ranker.scores(x)
    a = dict(zip(CALIBRATION_INPUTS, calibration_inputs(scores, x, np.ones(2)), strict=True))
    b = dict(zip(CALIBRATION_INPUTS, calibration_inputs(scores + 3.0, x, np.ones(2)), strict=True))
    assert np.isclose(b["top"] - a["top"], 3.0)
    for name in CALIBRATION_INPUTS[1:]:
        assert np.isclose(a[name], b[name], atol=1e-5), name
    top = int(np.argmax(scores))
    assert np.isclose(a["s_cos"], x[top, FEATURES.index("s_cos")])
    assert np.isclose(a["best_passage_cos"], x[:, FEATURES.index("c_cos")].max())
    assert a["head_missing"] == a["rarest_missing"] == 1.0
    assert 0 < a["top_share"] <= 1 and np.isclose(
        a["top_share"], np.exp(scores[top]) / np.exp(scores).sum(), atol=1e-5
    )


def test_date_and_period_columns(qa: QA) -> None:
    """A "when" question with a period: every dated candidate counts as dated for "when",
    in_period marks exactly the candidates dated inside the period, and ages count in days
    (log-scaled) from the newest story among the candidates close to the best one, scaled
    by how fresh that story is on the asking day."""
    from datetime import date

    from retrieval.dates import asked_on

    g = gather(
        qa.retriever,
        "When did NATO talk to Russia in April 2016?",
        asked_at=asked_on(date(2017, 1, 1)),
    )
    assert g.info.period is not None and g.info.wh == "when"
    x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    dates = [c.hit.date or "" for c in g.candidates]
    in_april = ["2016-04-01" <= d <= "2016-04-30" for d in dates]
    assert any(in_april)
    assert list(col["in_period"] == 1) == in_april
    assert list(col["undated"] == 1) == [not d for d in dates]
    assert all(col["when_date"][i] == 1 for i, d in enumerate(dates) if d)
    # Ages count from the newest story among candidates about as close as the best one.
    s_cos = col["s_cos"]
    newest = max(d for d, s in zip(dates, s_cos, strict=True) if d and s >= s_cos.max() - NEAR_COS)
    stale = (date(2017, 1, 1) - date.fromisoformat(newest)).days
    fresh = np.exp(-max(stale - STALE_DAYS, 0) / STALE_DAYS)
    for i, d in enumerate(dates):
        days = max((date.fromisoformat(newest) - date.fromisoformat(d)).days, 0) if d else 0
        assert np.isclose(col["log_days_older"][i], fresh * np.log1p(days) / 8, atol=1e-6), d


def test_recency_fades_when_the_newest_story_is_old_news(qa: QA) -> None:
    """The day after the Kaliningrad deployment the March story on the Kuril Islands is
    aged in full; asked of the same corpus ten years on, the age is gone."""
    from datetime import date

    from retrieval.dates import asked_on

    question = "Where will Russia deploy its new missile defense systems?"
    ages = {}
    for day in (date(2016, 11, 22), date(2026, 11, 30)):
        g = gather(qa.retriever, question, asked_at=asked_on(day))
        x = featurize(g.info, g.qvec, qa.retriever.lexical, g.candidates)
        kuril = [i for i, c in enumerate(g.candidates) if "Kuril" in c.text]
        assert kuril and any("Kaliningrad" in c.text for c in g.candidates)
        ages[day.year] = x[kuril[0], FEATURES.index("log_days_older")]
    days = (date(2016, 11, 21) - date(2016, 3, 25)).days
    assert np.isclose(ages[2016], np.log1p(days) / 8, atol=1e-6)
    assert ages[2026] < 1e-6
    assert freshness(None, 700_000) == 1.0 and freshness(date(2016, 11, 22), None) == 1.0
