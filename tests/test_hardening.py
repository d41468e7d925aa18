"""Hostile corpus input: giant unbroken runs, line separators inside documents, an empty
corpus folder and undecodable file names never hang the build, break the index or lose
the last good version."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.encoder.base import Encoder
from retrieval.errors import EmptyCorpusError
from retrieval.index.build import build_index
from retrieval.ingest.documents import load_corpus
from retrieval.settings import Settings
from retrieval.store.faiss import current_version, load_index

REPO = Path(__file__).resolve().parents[1]

STORY = """Harbour council votes on the lighthouse

QUILLMERE - Harbour Gazette
May 3, 2016

The harbour council of Quillmere voted on Tuesday to repaint the old lighthouse.
"""

# Runs without a single space, each far longer than a chunk: the old chunker never moved on.
_CHUNK_SCRIPT = """
from retrieval.ingest.chunking import chunk_document
from retrieval.ingest.documents import Document
from retrieval.ingest.tokenizer import load_encoding
enc = load_encoding()
texts = [
    "See https://track.example/c?u=" + "a1B2c3D4" * 1500 + " for more.",
    "Intro. " + "QUJDREVGR0g=" * 1200 + " The end.",
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย" * 200,
    "中华人民共和国国务院今天在北京宣布了新的经济政策" * 200,
]
for text in texts:
    chunks = chunk_document(Document("d", "T", text), enc, 60, 15)
    assert chunks and all(len(enc.encode_ordinary(c.text)) <= 60 for c in chunks)
    assert all(c.text == text[c.start:c.end] for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
print("ok")
"""


def test_unbroken_runs_longer_than_a_chunk_are_cut_by_tokens() -> None:
    """A URL, base64, Thai and Chinese without spaces chunk within the limit and are covered
    (in a subprocess with a timeout: the old code looped forever, growing memory)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHUNK_SCRIPT], env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("chunk_document did not finish on an unbroken run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _settings(tmp_path: Path, corpus: Path) -> Settings:
    return replace(Settings(), corpus_dir=corpus, index_dir=tmp_path / "index")


def test_line_separators_inside_a_document_round_trip(tmp_path: Path, model: Encoder) -> None:
    """U+2028, U+2029 and U+0085 in a document's text leave an index that loads again."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = STORY.replace("old lighthouse", "old\u2028light\u2029house\u0085tower")
    (corpus / "story.txt").write_text(text, encoding="utf-8")
    settings = _settings(tmp_path, corpus)
    build_index(settings, encoder=model)
    index = load_index(settings.index_dir)
    assert len(index.docs) == 1
    assert any("\u2028" in c.text for c in index.all_chunks())


def test_empty_corpus_keeps_the_last_good_version(tmp_path: Path, model: Encoder) -> None:
    """An empty corpus folder is refused in one line and the published version stays;
    ``allow_empty`` publishes it on purpose."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "story.txt").write_text(STORY, encoding="utf-8")
    settings = _settings(tmp_path, corpus)
    first = build_index(settings, encoder=model)
    (corpus / "story.txt").unlink()
    with pytest.raises(EmptyCorpusError, match="--allow-empty") as err:
        build_index(settings, encoder=model)
    assert "\n" not in str(err.value)
    assert current_version(settings.index_dir) == first.version
    assert len(load_index(settings.index_dir).docs) == 1
    emptied = build_index(settings, encoder=model, allow_empty=True)
    assert emptied.documents == 0 and emptied.version != first.version


def test_file_name_not_utf8_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file whose name is not valid UTF-8 is skipped by a printable name; the rest load."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(STORY, encoding="utf-8")
    bad = os.path.join(os.fsencode(corpus), b"bad\xff.txt")
    with open(bad, "wb") as f:
        f.write(STORY.replace("Harbour", "Another").encode())
    loaded = load_corpus(corpus)
    assert [d.doc_id for d in loaded.documents] == ["good.txt"]
    assert [s.path for s in loaded.skipped] == ["bad\\xff.txt"]
    assert "bad\\xff.txt" in caplog.text and "not valid UTF-8" in caplog.text
    for s in loaded.skipped:
        s.path.encode("utf-8")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a\n# Heading **bold** @everyone",
        "https://example.org/a\tb",
        "https://example.org/a\u2028b",
        "https://example.org/\u200bb",
        "javascript:alert(1)",
        "ftp://example.org/file",
    ],
)
def test_unsafe_source_urls_never_become_links(url: str) -> None:
    """A URL with whitespace or control characters, or not http(s), is shown as plain text."""
    from retrieval.answer.engine import Source
    from retrieval.answer.render import format_source

    shown = format_source(Source("d1", "Talks resume", "2016-04-20", url))
    assert "](" not in shown and "\n" not in shown and "\t" not in shown
    assert shown.startswith("Talks resume")


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("NEWSQA_ABSTAIN_THRESHOLD", "nan"),
        ("DISCORD_COOLDOWN_SECONDS", "nan"),
        ("DISCORD_MAX_CONCURRENT", "inf"),
    ],
)
def test_nan_and_inf_settings_are_refused_in_one_line(name: str, raw: str) -> None:
    """nan passes every range check by comparing false; inf crashes int(): both refused."""
    from bot.settings import bot_settings_from
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError, match=name) as err:
        bot_settings_from({name: raw})
    assert "\n" not in str(err.value)
