"""The Milvus store on a Milvus Lite file: build, answer, reindex, publish, errors.

Skipped only when the `milvus` extra (pymilvus, milvus-lite) is not installed.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from retrieval.answer.qa import QA
from retrieval.converse import respond
from retrieval.encoder.base import Encoder
from retrieval.errors import (
    ConfigError,
    IndexMismatchError,
    IndexMissingError,
    StoreUnreachableError,
)
from retrieval.index.build import build_index
from retrieval.index.watch import IndexWatcher
from retrieval.settings import Settings
from retrieval.store.factory import open_store
from retrieval.store.faiss import FaissStore
from retrieval.store.milvus import MilvusIndex, MilvusStore, parse_uri
from tests.test_reindex import NEW_ID, NEW_QUESTION, NEW_STORY, OLD_QUESTIONS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def lite(tmp_path: Path, model: Encoder) -> Settings:
    """A copy of the bundled corpus, indexed into a Milvus Lite file."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = replace(
        Settings(), corpus_dir=corpus, index_dir=tmp_path / "unused",
        store=f"milvus-lite:{tmp_path / 'index.db'}",
    )  # fmt: skip
    build_index(settings, encoder=model)
    return settings


def _milvus(settings: Settings) -> MilvusStore:
    store = open_store(settings)
    assert isinstance(store, MilvusStore)
    return store


def test_milvus_answers_equal_faiss(
    lite: Settings, default_index: Settings, model: Encoder
) -> None:
    """Same corpus, same questions: the Milvus store gives the FAISS store's answers."""
    assert not (lite.index_dir).exists()  # nothing was written to the FAISS folder
    milvus_qa = QA.open(lite, encoder=model)
    faiss_qa = QA.open(default_index, encoder=model)
    assert isinstance(milvus_qa.retriever.index, MilvusIndex)
    for question in (*OLD_QUESTIONS, "What did the NATO-Russia Council discuss?"):
        got, want = milvus_qa.answer(question), faiss_qa.answer(question)
        assert got.text == want.text and got.sources == want.sources
        assert got.confidence == pytest.approx(want.confidence, abs=1e-4)
        assert [p.chunk_id for p in got.passages] == [p.chunk_id for p in want.passages]
    assert "Grushko" in (milvus_qa.answer(OLD_QUESTIONS[1]).text or "")
    # A conversation's stories are found by document on either store.
    docs = list(faiss_qa.retriever.index.docs)[:2]
    assert len(faiss_qa.retriever.doc_positions(docs)) >= 2
    assert list(milvus_qa.retriever.doc_positions(docs)) == list(
        faiss_qa.retriever.doc_positions(docs)
    )
    first = [
        respond(qa, [], "When did NATO announce the council meeting?")
        for qa in (milvus_qa, faiss_qa)
    ]
    turns = [
        respond(qa, [t], "Where will it be held?")
        for qa, t in zip((milvus_qa, faiss_qa), first, strict=True)
    ]
    assert turns[0].understood == turns[1].understood and turns[0].kind == "follow-up"
    assert turns[0].answer is not None and turns[1].answer is not None
    assert turns[0].answer.text == turns[1].answer.text
    # A period filter runs in Milvus and keeps only that period's (or undated) chunks.
    hits = milvus_qa.search(OLD_QUESTIONS[0], 10, since="2016-04-20", until="2016-04-20")
    assert hits and all(h.date in (None, "2016-04-20") for h in hits)
    assert [h.chunk_id for h in hits] == [
        h.chunk_id
        for h in faiss_qa.search(OLD_QUESTIONS[0], 10, since="2016-04-20", until="2016-04-20")
    ]


def test_incremental_reindex_switches_the_alias(lite: Settings, model: Encoder) -> None:
    """A changed corpus embeds only the new document, reuses the other vectors, publishes a
    new collection by switching the alias, and a watching reader swaps it in."""
    store = _milvus(lite)
    first = store.current_version()
    old = store.load()
    old_vectors = dict(
        zip((c.chunk_id for c in old.all_chunks()), old.chunk_vectors(range(len(old))), strict=True)
    )
    qa = QA.open(lite, encoder=model)
    assert qa.search(NEW_QUESTION, 1)[0].doc_id != NEW_ID

    (lite.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    report = build_index(lite, encoder=model)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 0, 0, 14)
    assert 2 <= report.chunks_embedded < report.chunks and not report.full
    assert store.current_version() == report.version != first
    alias = store.client.describe_alias(store.name)["collection_name"]
    assert alias == f"newsqa_{report.version}_chunks"

    new = store.load()
    chunks = new.all_chunks()
    vectors = new.chunk_vectors(range(len(new)))
    for chunk, vector in zip(chunks, vectors, strict=True):
        if chunk.chunk_id in old_vectors:  # unchanged documents keep their very vectors
            assert np.array_equal(vector, old_vectors[chunk.chunk_id])
    assert sum(c.doc_id == NEW_ID for c in chunks) == report.chunks_embedded
    # The sentence vectors moved with their chunks: each is closest to its own chunk.
    (chunk, first_row), = new.fetch_chunks([len(new) - 1])  # fmt: skip
    rows = new.sentence_vectors_at(range(first_row, first_row + len(chunk.sentences)))
    assert rows.shape == (len(chunk.sentences), 384)
    assert float((rows @ new.chunk_vectors([len(new) - 1])[0]).min()) > 0.3

    watcher = IndexWatcher(qa, interval=1.0)
    assert watcher.poll() and qa.version == report.version
    assert qa.search(NEW_QUESTION, 1)[0].doc_id == NEW_ID
    assert "violet" in (qa.answer(NEW_QUESTION).text or "")
    assert not watcher.poll()  # nothing new since

    # The previous version is kept for readers that read the alias before the switch.
    names = set(store.client.list_collections())
    assert f"newsqa_{first}_chunks" in names
    again = build_index(lite, encoder=model)
    assert again.version == report.version and again.reason == "nothing changed"


def test_killed_reindex_leaves_the_old_alias_serving(
    lite: Settings, model: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that dies before the switch leaves the old version published and loadable;
    the next build drops its leftovers."""
    store = _milvus(lite)
    before = store.current_version()
    (lite.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    client_type = type(store.client)

    def die(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")  # the process dies here: no cleanup of ours runs

    monkeypatch.setattr(client_type, "alter_alias", die)
    with pytest.raises(SystemExit):
        build_index(lite, encoder=model)
    monkeypatch.undo()
    assert store.current_version() == before
    leftovers = [n for n in store.client.list_collections() if before not in n]
    assert len(leftovers) == 3  # the dead build's chunks, sentences and docs
    qa = QA.open(lite, encoder=model)
    assert qa.version == before and qa.search(NEW_QUESTION, 1)[0].doc_id != NEW_ID

    report = build_index(lite, encoder=model)
    assert store.current_version() == report.version
    assert not set(leftovers) & set(store.client.list_collections())


def test_errors_are_one_line(lite: Settings, tmp_path: Path) -> None:
    """Unreachable server, missing index, other model or dimension, bad URI: one clear line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = replace(lite, store=f"http://127.0.0.1:{port}")
    with pytest.raises(StoreUnreachableError, match=f"cannot reach Milvus at .*:{port}"):
        open_store(nowhere).current_version()
    with pytest.raises(IndexMissingError, match=r"no index in Milvus .*#other"):
        open_store(replace(lite, store=lite.store + "#other")).locate()
    store = open_store(lite)
    with pytest.raises(IndexMismatchError, match="built with model 'all-MiniLM-L6-v2'"):
        store.load(model="other-model")
    with pytest.raises(IndexMismatchError, match="384-dim vectors, the model makes 768"):
        store.load(dimension=768)
    for bad in ("foo:bar", "milvus-lite:", "http://h:19530#bad-name"):
        with pytest.raises(ConfigError):
            parse_uri(bad)
    with pytest.raises(IndexMismatchError) as raised:
        store.load(dimension=768)
    assert "\n" not in str(raised.value) and "python -m retrieval index" in str(raised.value)


def test_empty_store_selects_faiss(tmp_path: Path) -> None:
    """NEWSQA_STORE empty keeps the FAISS folder (the default)."""
    store = open_store(replace(Settings(), index_dir=tmp_path / "ix"))
    assert isinstance(store, FaissStore) and store.location == str(tmp_path / "ix")


def test_approximate_version_matches_brute_force(tmp_path: Path) -> None:
    """A version the FAISS store would make approximate uses HNSW in Milvus; its top 10 on
    random unit vectors equals numpy's, and a period filter keeps undated chunks."""
    from retrieval.ingest.chunking import Chunk
    from retrieval.store.base import DocInfo, Manifest

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        DocInfo(d, d, date, (), d, "jsonl", None, (), (), d)
        for d, date in (("dated", "2020-01-02"), ("undated", None))
    ]
    chunks = [Chunk(f"c{i}", docs[i % 2].doc_id, "A b.", 0, 4, 2, ((0, 4),)) for i in range(400)]
    manifest = Manifest("m", 8, "t", 180, 40, "f", 2, 400, 0, "ivf-sq8", "now")
    store = MilvusStore(f"milvus-lite:{tmp_path / 'ann.db'}")
    store.publish(manifest, vectors, vectors, chunks, docs)
    index = store.load()
    for q in (3, 77, 201):
        got = [p for p, _ in index.dense_search(vectors[q], 10)]
        assert got == list(np.argsort(-(vectors @ vectors[q]))[:10])
    late = index.dense_search(vectors[3], 10, since=738000)  # after 2020-01-02: undated only
    assert late and all(p % 2 == 1 for p, _ in late)


def test_cli_reads_the_store_named_by_store(lite: Settings) -> None:
    """`stats --store URI` and `ask --store URI` read Milvus; `--index` names a FAISS folder."""
    import io
    import json

    from retrieval.cli.main import main

    out = io.StringIO()
    assert main(["--env-file", "/nonexistent/.env", "stats", "--store", lite.store, "--json"],
                out=out) == 0  # fmt: skip
    stats = json.loads(out.getvalue())
    assert stats["documents"] == 5 + 9 and stats["path"].startswith(str(lite.store)[12:])
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", "ask", OLD_QUESTIONS[1], "--store",
                 lite.store, "--json"], out=out)  # fmt: skip
    assert code == 0 and "Grushko" in json.loads(out.getvalue())["answer"]
    missing = lite.index_dir / "nothing"
    assert main(["--env-file", "/nonexistent/.env", "stats", "--index", str(missing)]) == 1
