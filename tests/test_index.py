"""The saved index: FAISS agrees with brute force, versions publish atomically, and a
damaged or mismatched index is refused with a message that says what to run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
)
from retrieval.index.build import build_index
from retrieval.ingest.chunking import Chunk
from retrieval.settings import Settings
from retrieval.store.ann import ANN_TYPE, search_ann
from retrieval.store.faiss import (
    Index,
    Manifest,
    load_index,
    locate,
    make_faiss_index,
    publish,
    search_vectors,
    write_lock,
)


def _random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _clustered_unit(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 100 topics, like text embeddings (uniform ones have no
    structure for an inverted file to use)."""
    rng = np.random.default_rng(seed)
    centres = _random_unit(100, dim, seed + 1000)
    v = centres[rng.integers(0, 100, n)] + rng.normal(0, 0.08, (n, dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _fake_index(vectors: np.ndarray, index_type: str = "flat") -> Index:
    chunks = tuple(Chunk(f"c{i}", f"d{i}", f"text {i}", 0, 6, 2) for i in range(len(vectors)))
    manifest = Manifest("m", vectors.shape[1], "cl100k_base", 10, 2, "", 0, len(chunks), 0,
                        index_type, "")  # fmt: skip
    faiss_index = make_faiss_index(vectors, index_type)
    no_sentences = np.zeros((0, vectors.shape[1]), np.float32)
    starts = np.zeros(len(chunks) + 1, np.int64)
    return Index(Path("."), manifest, vectors, faiss_index, chunks, {}, no_sentences, starts)


def _brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_flat_search_equals_numpy_top_k() -> None:
    """Exact FAISS search returns numpy's brute-force top-k ids and scores."""
    vectors, queries = _random_unit(2000, 64, 1), _random_unit(25, 64, 2)
    index = _fake_index(vectors)
    expected = _brute_force(vectors, queries, 10)
    for q, row, want in zip(queries, search_vectors(index, queries, 10), expected, strict=True):
        assert [i for i, _ in row] == list(want)
        np.testing.assert_allclose([s for _, s in row], vectors[want] @ q, rtol=1e-5, atol=1e-5)


def test_hnsw_search_recalls_numpy_top_k() -> None:
    """The HNSW index used for large corpora finds nearly all of the exact top-10."""
    vectors, queries = _random_unit(5000, 64, 3), _random_unit(50, 64, 4)
    index = _fake_index(vectors, "hnsw")
    expected = _brute_force(vectors, queries, 10)
    found = search_vectors(index, queries, 10)
    recall = np.mean(
        [
            len({i for i, _ in row} & set(want)) / 10
            for row, want in zip(found, expected, strict=True)
        ]
    )
    assert recall >= 0.95


def _recall(found: list[list[tuple[int, float]]], expected: np.ndarray) -> float:
    return float(
        np.mean(
            [
                len({i for i, _ in row} & set(want)) / len(want)
                for row, want in zip(found, expected, strict=True)
            ]
        )
    )


def test_ivf_search_recalls_numpy_top_k_with_exact_scores() -> None:
    """The approximate index of large versions finds nearly all of the exact top-10 and
    reports their exact cosines, best first."""
    vectors, queries = _clustered_unit(20_000, 64, 8), _clustered_unit(50, 64, 9)
    index = _fake_index(vectors, ANN_TYPE)
    found = search_vectors(index, queries, 10)
    assert _recall(found, _brute_force(vectors, queries, 10)) >= 0.95
    for q, row in zip(queries, found, strict=True):
        scores = [s for _, s in row]
        np.testing.assert_allclose(scores, vectors[[i for i, _ in row]] @ q, rtol=1e-5, atol=1e-5)
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("exact_rows", [0, 50_000])
def test_filtered_ivf_search_keeps_to_allowed_rows(exact_rows: int) -> None:
    """With a date filter, the approximate index returns only allowed rows and finds the
    filtered top-10, whether the filter is searched through the lists or exactly."""
    vectors, queries = _clustered_unit(20_000, 64, 10), _clustered_unit(30, 64, 11)
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[3_000:5_000] = True  # a period: 10% of the rows
    index = _fake_index(vectors, ANN_TYPE)
    _, ids = search_ann(index.faiss_index, vectors, queries, 10, allowed, exact_rows)
    assert ids.min() >= 0 and allowed[ids].all()
    sub = np.flatnonzero(allowed)
    expected = sub[_brute_force(vectors[sub], queries, 10)]
    found = [[(int(i), 0.0) for i in row] for row in ids]
    assert _recall(found, expected) >= (0.95 if exact_rows == 0 else 1.0)


def test_k_is_clamped_and_fillers_dropped() -> None:
    """Asking for more hits than vectors returns each vector once, with no -1 ids."""
    index = _fake_index(_random_unit(3, 8, 5))
    (row,) = search_vectors(index, _random_unit(1, 8, 6), 10)
    assert sorted(i for i, _ in row) == [0, 1, 2]
    (empty,) = search_vectors(_fake_index(np.zeros((0, 8), np.float32)), _random_unit(1, 8, 7), 5)
    assert empty == []


def test_missing_index_says_what_to_run(tmp_path: Path) -> None:
    """Loading where nothing was built names the command to run."""
    with pytest.raises(IndexMissingError, match="python -m retrieval index"):
        load_index(tmp_path / "none")


def test_manifest_records_the_build(default_index: Settings) -> None:
    """The manifest says how the index was built and matches what it holds."""
    index = load_index(default_index.index_dir)
    m = index.manifest
    assert (m.model, m.dimension, m.tokenizer) == ("all-MiniLM-L6-v2", 384, "cl100k_base")
    assert (m.chunk_tokens, m.chunk_overlap) == (
        default_index.chunk_tokens,
        default_index.chunk_overlap,
    )
    assert m.documents == 5 + 9 and m.chunks == len(index.chunks) == len(index.vectors)  # + Related
    assert len(m.corpus_fingerprint) == 64 and m.created_at.startswith("20")
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-4)


def test_model_and_dimension_mismatch_are_refused(default_index: Settings) -> None:
    """An index built with another model or dimension is refused on load."""
    with pytest.raises(IndexMismatchError, match="other-model"):
        load_index(default_index.index_dir, model="other-model")
    with pytest.raises(IndexMismatchError, match="768"):
        load_index(default_index.index_dir, dimension=768)


@pytest.fixture()
def small_index(tmp_path: Path, default_index: Settings, model) -> Settings:  # type: ignore[no-untyped-def]
    settings = replace(default_index, index_dir=tmp_path / "idx")
    build_index(settings, encoder=model)
    return settings


@pytest.mark.parametrize(
    "name", ["chunks.jsonl", "vectors.npy", "sentences.npy", "index.faiss", "documents.jsonl"]
)
def test_truncated_or_missing_file_is_refused(small_index: Settings, name: str) -> None:
    """A truncated or deleted index file gives a one-line error naming the file and the fix."""
    target = locate(small_index.index_dir) / name
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match=rf"{name}.*index --full") as err:
        load_index(small_index.index_dir)
    assert "\n" not in str(err.value)
    target.unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        load_index(small_index.index_dir)


def test_garbled_manifest_is_refused(small_index: Settings) -> None:
    """A manifest that is not valid JSON is reported as unreadable."""
    (locate(small_index.index_dir) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        load_index(small_index.index_dir)


def test_publish_switches_versions_and_keeps_the_previous(small_index: Settings) -> None:
    """A new version becomes current by pointer; the previous one stays on disk."""
    first = load_index(small_index.index_dir)
    with write_lock(small_index.index_dir):
        rows = list(first.sentence_rows(0)) + list(first.sentence_rows(1))
        path = publish(small_index.index_dir, first.manifest, first.vectors[:2],
                       first.sentence_vectors[rows], first.chunks[:2],
                       list(first.docs.values()))  # fmt: skip
    second = load_index(small_index.index_dir)
    assert second.path == path != first.path
    assert len(second) == 2
    assert first.path.is_dir()
    saved = json.loads((path / "manifest.json").read_text())
    assert saved["chunks"] == 2 and saved["documents"] == len(first.docs)
    assert saved["version"] == path.name


def test_second_writer_is_refused(tmp_path: Path) -> None:
    """While one process holds the writer lock, another is told to wait."""
    with (
        write_lock(tmp_path),
        pytest.raises(IndexLockedError, match="another process"),
        write_lock(tmp_path),
    ):
        pass
