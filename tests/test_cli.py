"""The retrieval CLI, run in-process on the bundled corpus with the real model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.cli.main import main
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, default_index: Settings) -> Settings:
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    monkeypatch.setenv("NEWSQA_CORPUS_DIR", str(REPO / "corpus"))
    return default_index


def test_search_json_ranks_the_2016_04_20_page_first(env: Settings) -> None:
    """`search --json` prints one object per hit; the NATO question finds the April 20 page."""
    code, out = run("search", "When did NATO reopen talks with Russia?", "-k", "3", "--json")
    assert code == 0
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == 3
    for key in ("doc_id", "chunk_id", "score", "title", "date", "url", "text"):
        assert key in hits[0]
    assert hits[0]["doc_id"] == "000_a226b7d7bdfc010b.txt"
    assert hits[0]["date"] == "2016-04-20"
    assert hits[0]["url"].startswith("http://www.euronews.com/")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_text_output_and_date_filter(env: Settings) -> None:
    """The human output shows title, date and link; --until drops later documents."""
    code, out = run("search", "NATO Russia Council meeting", "-k", "5", "--until", "2016-04-10")
    assert code == 0
    assert "2016-04-08" in out and "rferl.org" in out
    assert "2016-04-20" not in out


def test_index_reports_counts_and_is_incremental(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`index` builds from a corpus folder; a second run embeds nothing; --json has counts."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(tmp_path / "idx"))
    code, out = run("index", "--corpus", str(REPO / "corpus"), "--no-progress")
    assert code == 0
    assert "indexed 14 documents from 5 files" in out  # 9 of them Related items
    code, out = run("index", "--corpus", str(REPO / "corpus"), "--json")
    report = json.loads(out)
    assert (report["unchanged"], report["added"], report["chunks_embedded"]) == (14, 0, 0)
    code, out = run("stats", "--json")
    stats = json.loads(out)
    assert stats["documents"] == 5 + 9 and stats["model"] == "all-MiniLM-L6-v2"
    assert stats["date_range"] == ["2016-03-25", "2017-06-16"]  # Related items widen it


def test_errors_are_one_line_with_nonzero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing index or corpus exits 1 with a one-line message, never a traceback."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(tmp_path / "none"))
    code, _ = run("search", "anything")
    err = capsys.readouterr().err
    assert code == 1
    assert "error: no index at" in err and "Traceback" not in err
    code, _ = run("index", "--corpus", str(tmp_path / "missing"))
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


def test_bad_settings_and_dates_are_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed setting or date gives a clear message."""
    monkeypatch.setenv("NEWSQA_CHUNK_TOKENS", "lots")
    assert run("stats")[0] == 1
    assert "NEWSQA_CHUNK_TOKENS must be a whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run("search", "x", "--since", "April")
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_ask_explain_shows_the_trace_of_the_printed_answer(env: Settings) -> None:
    """`ask --explain` explains the very answer it printed, from the trace the engine kept
    while answering: its top sentence is the quote, its confidence the answer's."""
    from datetime import date

    from retrieval.answer.qa import QA
    from retrieval.dates import asked_on

    question = "When did NATO reopen talks with Russia?"
    answer = QA.open(env).answer(question, asked_at=asked_on(date(2016, 4, 22)), explain=True)
    assert answer.trace is not None and answer.text is not None
    assert answer.trace.ranked is not None  # the reader read the best sentences
    top = int(answer.trace.ranked.argmax())
    assert answer.trace.candidates[top].text in answer.text
    assert answer.trace.features.shape[0] == len(answer.trace.candidates)
    assert QA.open(env).answer(question).trace is None  # kept only when asked for

    code, out = run("ask", question, "--explain", "--date", "2016-04-22")
    assert code == 0
    printed, explained = out.split("--- explain (")
    assert "NATO reopens informal talks with Russia" in printed
    assert f"confidence {answer.confidence:.3f}" in explained
    sentences = explained.split("sentences (")[1].splitlines()[1:]
    assert "NATO reopens informal talks with Russia" in sentences[0]
    chosen_by, own = (float(v) for v in sentences[0].split()[:2])  # with the reader's, own
    assert np.isclose(own, answer.trace.scores[top], atol=1e-3) and chosen_by != own
    assert "period:" not in explained and "answer type: when" in explained
