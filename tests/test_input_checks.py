"""Smaller input checks: JSONL fields of the wrong type are warned about by file and line,
an event page without a headline keeps its date and source, gold answers match whole
numbers only, `-k` must be positive, a title that reads as an address never labels a link
to another one, --no-progress hides every progress bar, lone surrogates are replaced, and
an unwritable plot or model cache is one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.answer.engine import Source
from retrieval.answer.evaluate import hit
from retrieval.answer.qa import QA
from retrieval.answer.render import format_source
from retrieval.cli.main import main
from retrieval.encoder.base import Encoder
from retrieval.encoder.factory import load_encoder
from retrieval.errors import ModelError
from retrieval.index.build import build_index
from retrieval.ingest.documents import load_corpus, parse_file
from retrieval.settings import Settings
from retrieval.store.faiss import load_index

REPO = Path(__file__).resolve().parents[1]
MODEL_CACHE = REPO / "var" / "models"
EVENT = "thecontext/news/2016/04/20/nato-reopens-informal-talks-with-russia-for-the-first-time-in-nearly-two-years-according-to-the-secretary-general-of-nato-jens-stoltenberg.md"  # noqa: E501


def test_jsonl_fields_of_the_wrong_type_are_warned_by_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A number date, a list url, a number title and a list id are each named with
    file:line; the record still loads without them."""
    rows = [
        {"id": "a", "text": "The harbour council met on Tuesday.", "date": 20160420,
         "url": ["https://example.org/a"]},
        {"id": ["b"], "text": "The lighthouse was repainted.", "title": 7, "date": "someday"},
        {"id": "c", "text": "Nothing wrong here.", "date": "2016-04-21"},
    ]  # fmt: skip
    (tmp_path / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["a", "news.jsonl:2", "c"]
    assert corpus.documents[0].date is None and corpus.documents[0].urls == ()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "news.jsonl:1: ignored 'url' is a list; 'date' is a number",
        "news.jsonl:2: ignored 'title' is a number; 'id' is a list; 'date' 'someday' is not a date",
    ]


def test_event_page_without_headline_keeps_date_and_source(shared: Path, tmp_path: Path) -> None:
    """An event page whose "# " line is missing is still an event: date and source kept,
    the body's first sentence as its title."""
    text = (shared / "data/corpus-samples" / EVENT).read_text(encoding="utf-8")
    page = tmp_path / "event.md"
    page.write_text("\n".join(ln for ln in text.split("\n") if not ln.startswith("# ")))
    [doc] = parse_file(page)
    assert doc.kind == "event" and doc.date == "2016-04-20"
    assert (
        doc.url
        == "http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks-after-two-years/"
    )
    assert doc.title.startswith("NATO has reopened informal talks with Russia")
    assert "90 minutes" in doc.text


@pytest.mark.parametrize(
    ("text", "gold", "expected"),
    [
        ("The law was passed in 2015.", "5", False),
        ("Prices rose 5.5 percent.", "5", False),
        ("About 1.5 million people.", "5", False),
        ("Prices rose 5 percent.", "5", True),
        ("Prices rose 5%.", "5", True),
        ("The law was passed in 2015.", "2015", True),
        ("The Mediterranean diet", "Mediterranean", True),
    ],
)
def test_gold_numbers_match_whole_numbers(text: str, gold: str, expected: bool) -> None:
    """A gold "5" is not found inside "2015" or "5.5"; words still match as before."""
    assert hit(text, [gold]) is expected


@pytest.mark.parametrize("argv", [["search", "x", "-k", "-1"], ["search", "x", "-k", "0"],
                                  ["eval", "--questions", "q.jsonl", "--limit", "-1"]])  # fmt: skip
def test_counts_below_one_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`-k -1`, `-k 0` and `--limit -1` exit 2 before anything is loaded."""
    with pytest.raises(SystemExit) as exc:
        main(["--env-file", "/nonexistent", *argv], out=io.StringIO())
    assert exc.value.code == 2
    assert "at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "title", ["https://bank.example/login", "www.bank.example", "bank.example/login here"]
)
def test_title_that_reads_as_an_address_never_labels_another_link(title: str) -> None:
    """The real target is shown beside such a title, which is never a masked label."""
    shown = format_source(Source("d1", title, "2016-04-20", "https://news.example/story"))
    assert "](" not in shown
    assert shown.endswith("<https://news.example/story>")


def test_no_progress_hides_loading_bars_and_skips_are_warned_once(tmp_path: Path) -> None:
    """`index --no-progress` with the torch encoder shows no "Loading weights" bar, and a
    skipped file is warned about exactly once."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "story.txt").write_text(
        "Harbour council votes\n\nThe harbour council voted on Tuesday to repaint the lighthouse.\n"
    )
    (corpus / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "DISCORD_"))}
    env |= {
        "PYTHONPATH": str(REPO), "NEWSQA_MODEL_CACHE": str(MODEL_CACHE),
        "NEWSQA_INDEX_DIR": str(tmp_path / "index"), "NEWSQA_ENCODER": "torch",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "retrieval", "--env-file", os.devnull, "index", "--corpus",
         str(corpus), "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Loading weights" not in done.stderr
    assert "it/s]" not in done.stderr  # no tqdm bar of any kind
    assert done.stderr.count("blob.bin") == 1, done.stderr


def test_lone_surrogates_in_jsonl_and_questions(
    tmp_path: Path, default_index: Settings, model: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    """A "\\ud800" escape (valid JSON, not text) in a corpus record or a question becomes
    U+FFFD: the build publishes, the question is answered, not a crash in the tokeniser."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "news.jsonl").write_text(
        '{"id": "s1", "title": "Lone \\ud800 title", "url": "https://e.org/\\udc00",'
        ' "text": "The harbour council \\udfff voted on Tuesday to repaint the lighthouse."}\n'
    )
    settings = replace(default_index, corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, encoder=model)
    [doc] = load_index(settings.index_dir).docs.values()
    assert doc.title == "Lone \ufffd title"
    assert "news.jsonl:1: replaced lone surrogates" in caplog.text
    qa = QA.open(default_index, encoder=model)
    answer = qa.answer("When did NATO \udce9 reopen talks with Russia?")
    assert answer.sources and "\udce9" not in answer.question


def test_unwritable_plot_and_model_cache_are_one_line(
    tmp_path: Path, default_index: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """`eval --plot` into a missing folder exits 1 in one line; a model cache path that is
    a file is a ModelError naming NEWSQA_MODEL_CACHE."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "1", "question": "Who chaired the talks?", "answers": ["x"]}\n')
    argv = ["--env-file", "/nonexistent", "eval", "--questions", str(questions), "--json",
            "--plot", str(tmp_path / "missing" / "curve.png")]  # fmt: skip
    assert main(argv, out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: cannot write the plot" in err
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(ModelError, match="NEWSQA_MODEL_CACHE") as exc:
        load_encoder(replace(Settings(), model_cache=blocker))
    assert "\n" not in str(exc.value)
